"""The guest operations as a feature of the app: their keys (from the action registry),
their palette entries for the selection (`GuestCommands`), and the task log's detail
view; they go through the base's runner. VMConsoleApp combines this with the other features."""

from __future__ import annotations

from functools import partial

from textual import on
from textual.app import App
from textual.command import Provider

from vmconsole.backends.base import Task
from vmconsole.model import Guest
from vmconsole.ui import actions
from vmconsole.ui.base_app import ConsoleBase
from vmconsole.ui.messages import TaskOpened
from vmconsole.ui.widgets.cluster_tree import ClusterTree
from vmconsole.ui.widgets.task_slot import TaskSlot


def guest_commands() -> type[Provider]:
    """The palette's guest entries (`GuestCommands`), loaded when the palette first
    opens: as Textual's own system commands are (`get_system_commands_provider`)."""
    from vmconsole.ui.guest_commands import GuestCommands

    return GuestCommands


class OperationsFeatures(ConsoleBase):
    BINDINGS = actions.bindings()
    COMMANDS = App.COMMANDS | {guest_commands}

    def on_mount(self) -> None:
        self.query_one(TaskSlot).target_name = self.guest_name

    def guest_name(self, cluster: str, guest_id: str) -> str:
        """A guest's name as last polled (its id when it is gone or not a guest)."""
        result = self.latest.get(cluster)
        guest = result.inventory.guest(guest_id) if result and result.inventory else None
        return guest.name if guest is not None else guest_id

    def guest_selection(self) -> actions.Selection | None:
        """The guest under the tree's cursor, with its inventory and backend's abilities."""
        ref = self.selected
        result = self.latest.get(ref.cluster) if ref else None
        loop = self.loops.get(ref.cluster) if ref else None
        if ref is None or result is None or result.inventory is None or loop is None:
            return None
        guest = result.inventory.guest(ref.object_id)
        if not isinstance(guest, Guest):
            return None
        return actions.Selection(ref.cluster, guest, result.inventory,
                                 loop.backend.capabilities)

    def marked_count(self) -> int:
        """How many guests are marked in the tree (Space, `*`)."""
        return len(self.query_one(ClusterTree).marks)

    def action_guest(self, name: str) -> None:
        """A guest action's key: on the guest under the cursor (with marks, BulkFeatures
        acts on the marks instead)."""
        self.act_on_guest(name)

    def act_on_guest(self, name: str) -> None:
        """Action `name` on the guest under the cursor, marks or not: what a palette entry
        naming that guest does."""
        selection = self.guest_selection()
        from vmconsole.ui.flows import RUN_AT_ONCE, GuestFlows  # its forms: when used

        if selection is None:  # a node or cluster row: no form opens for the keys typed
            self.notify("choose a guest in the tree first", severity="warning")
            if name not in RUN_AT_ONCE:
                self.typeahead.drop_queued(self)
            return

        GuestFlows(self, selection).perform(name)

    def show_task(self, cluster: str, task: Task) -> None:
        """Show a task just started in the task log, before the next poll brings it."""
        self.show_tasks(cluster, [task])

    def show_tasks(self, cluster: str, tasks: list[Task]) -> None:
        """Show tasks just started or changed in the task log, in one update; nothing
        once the console closes (a bulk action's last flush may come after its widgets
        went)."""
        slot = self.query_one_optional(TaskSlot)
        if slot is None or self.closing.is_set():
            return
        slot.task_log()
        self.show_panel(slot, True)
        slot.update_tasks(cluster, tasks, max(t.started for t in tasks))

    @on(TaskOpened)
    def _open_task(self, message: TaskOpened) -> None:
        def lookup() -> tuple[Task | None, float]:
            result = self.latest.get(message.cluster)
            if result is None or result.inventory is None:
                return None, 0.0
            task = next((t for t in result.tasks if t.id == message.task.id), None)
            return task, result.inventory.taken_at

        from vmconsole.ui.modals.task_detail import TaskDetailScreen  # loaded when first opened

        name = self.guest_name(message.cluster, message.task.target)
        self.push_screen(TaskDetailScreen(
            message.cluster, message.task, lookup,
            name if name != message.task.target else None,
            measured=partial(self.task_measurement, message.cluster)))
