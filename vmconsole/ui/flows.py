"""What each guest action does when chosen: read what its form needs, ask (a form or a
confirmation), and hand the change to the runner (`vmconsole.operations`). Keys and
palette entries both end here, through `GuestFlows.perform`; each action's flow is
registered in `FLOWS` by the action's name.

Each form's module is imported when the form is first opened: none is on the first
screen, and together they cost the console's start tens of milliseconds (issue 12)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any, TypeVar

from vmconsole.backends.base import Backend, NotSupported, Task
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.removal import RemovalPlan, SupportsDestroy, SupportsUndefine
from vmconsole.model.snapshots import Snapshot
from vmconsole.operations import Outcome
from vmconsole.text import visible
from vmconsole.ui.actions import BY_NAME, GuestAction
from vmconsole.ui.guest_runner import GuestRunner
from vmconsole.ui.hardware_flow import edit_hardware
from vmconsole.ui.labels import guest_title
from vmconsole.ui.snapshot_flow import SnapshotFlows
from vmconsole.ui.typeahead import held_for

if TYPE_CHECKING:
    from vmconsole.ui.modals.clone import CloneSource
    from vmconsole.ui.modals.migrate import MigrateRequest

T = TypeVar("T")
DELETE_WARNING = ("This cannot be undone: the guest's configuration and every disk it "
                  "owns are removed.")


def destroy(backend: Backend, guest_id: str) -> Task:
    """Delete a guest on a backend that can (the action is offered only there)."""
    if not isinstance(backend, SupportsDestroy):
        raise NotSupported("this backend cannot delete a guest")
    return backend.destroy(guest_id)


def removal_plan(backend: Backend, guest_id: str) -> RemovalPlan | None:
    """What deleting the guest would do, where its disks may stay (libvirt); else None."""
    return backend.removal_plan(guest_id) if isinstance(backend, SupportsUndefine) else None


def undefine(backend: Backend, guest_id: str, remove_storage: bool) -> Task:
    """Delete a guest, its disks too or not, where the backend lets them stay."""
    if not isinstance(backend, SupportsUndefine):
        raise NotSupported("this backend deletes a guest with all its disks only")
    return backend.undefine(guest_id, remove_storage)


class GuestFlows(GuestRunner):
    """The flows of one selected guest."""

    def perform(self, name: str) -> None:
        action = BY_NAME[name]
        guest = self.sel.guest
        # The full name, id and node: "web [prod]" and "web [test]" must not read alike.
        title = f"{action.title}: {guest_title(guest)}"
        if not action.applies(self.sel):
            self._refuse(action, title, f"{action.title} does not apply to {visible(guest.name)}")
            self._drop_burst(name)
            return
        if action.changes and not self.permitted(action.audited_as, title):
            self._drop_burst(name)
            return
        if reason := action.refusal(self.sel):
            self._refuse(action, title, reason)
            self._drop_burst(name)
            return
        key = f"{self.sel.cluster}:{self.gid}:{name}"
        if any(w.description == key and not w.is_finished for w in self.app.workers):
            return  # a key pressed twice: the first press is still reading or asking
        # The name is what the user chose, the title of a notification if the flow fails.
        # Keys typed in this burst are for the screen the flow opens.
        flow: Awaitable[None] = FLOWS[name](self, title)
        if name not in RUN_AT_ONCE:
            flow = held_for(self.app, flow)
        self.app.run_worker(flow, name=title, group="flows", exit_on_error=False,
                            description=key)

    # --- helpers ------------------------------------------------------------------------

    def _drop_burst(self, name: str) -> None:
        """A form refused before it opened: the keys typed for it are dropped
        (`Typeahead.drop_queued`); a flow that opens no screen keeps none."""
        if name not in RUN_AT_ONCE:
            self.app.typeahead.drop_queued(self.app)

    def _refuse(self, action: GuestAction, title: str, reason: str) -> None:
        """Say why not; a refused change is audited first, a refused look only said."""
        if action.changes:
            self.runner.refuse(self._request(action.audited_as, title), reason)
        else:
            self.app.notify(reason, title=title, severity="warning", timeout=8, markup=False)

    # --- power --------------------------------------------------------------------------

    async def _start(self, title: str) -> None:
        await self.run("start", title, lambda b: b.start(self.gid))

    async def _shutdown(self, title: str) -> None:
        async def submit(timeout: float) -> Outcome:
            return await self.run("shutdown", title,
                                  lambda b: b.shutdown(self.gid, timeout), {"timeout": timeout})

        from vmconsole.ui.modals.shutdown import ShutdownForm

        await self.app.push_screen_wait(ShutdownForm(guest_title(self.sel.guest), submit))

    async def _stop(self, title: str) -> None:
        await self.confirmed_run(
            "stop", title, f"Stop {guest_title(self.sel.guest)} now, without a shutdown?",
            "Like pulling the power cord: unsaved data in the guest is lost.", "Stop",
            lambda b: b.stop(self.gid))

    async def _reboot(self, title: str) -> None:
        await self.run("reboot", title, lambda b: b.reboot(self.gid))

    # --- templates and clones -----------------------------------------------------------

    async def _clone_source(self, snapshots: bool) -> CloneSource | None:
        from vmconsole.ui.modals.clone import CloneSource

        next_vmid = await self.query("the next free id", lambda b: b.next_vmid())
        if next_vmid is None and self.sel.capabilities.vmids:
            return None
        found: list[Snapshot] = []
        if snapshots and self.sel.capabilities.snapshots:
            found = await self.query("snapshots", lambda b: b.snapshots(self.gid)) or []
        return CloneSource(self.sel.guest, self.sel.inventory, self.sel.capabilities,
                           next_vmid, tuple(found),
                           self.app.maintenance_nodes(self.sel.cluster))

    def _clone_submit(self, title: str) -> Callable[[CloneSpec], Awaitable[Outcome]]:
        async def submit(spec: CloneSpec) -> Outcome:
            return await self.run("clone", f"{title} as {visible(spec.name)}",
                                   lambda b: b.clone(self.gid, spec), asdict(spec))

        return submit

    async def _create(self, title: str) -> None:
        source = await self._clone_source(snapshots=False)
        if source is not None:
            from vmconsole.ui.modals.create_from_template import CreateFromTemplateForm

            await self.app.push_screen_wait(
                CreateFromTemplateForm(source, self._clone_submit(title)))

    async def _clone(self, title: str) -> None:
        await self.clone(title)

    async def clone(self, title: str, snapshot: str | None = None) -> Task | None:
        """Clone the guest as it is (when stopped) or one of its snapshots."""
        source = await self._clone_source(snapshots=True)
        if source is None:
            return None
        real = [s for s in source.snapshots if s.name != "current"]
        chosen = next((s for s in real if s.name == snapshot), None)
        if chosen is not None and chosen.clone_refusal:
            self.app.notify(f"No clone of snapshot {visible(chosen.name)}: "
                            f"{visible(chosen.clone_refusal)}", title=title, severity="warning")
            return None
        refused = next((s.clone_refusal for s in real if s.clone_refusal), None)
        if self.sel.guest.running and not any(s.clone_refusal is None for s in real):
            how = f"shut it down to clone it ({visible(refused)})" if refused else \
                "shut it down, or take a snapshot and clone that"
            self.app.notify(f"{visible(self.sel.guest.name)} is running: {how}", title=title,
                            severity="warning")
            return None
        from vmconsole.ui.modals.clone import CloneForm

        task: Task | None = await self.app.push_screen_wait(CloneForm(
            f"Clone {guest_title(self.sel.guest)}", source, self._clone_submit(title),
            from_snapshots=True, snapshot=snapshot))
        return task

    async def _template(self, title: str) -> None:
        await self.confirmed_run(
            "template", title, f"Convert {guest_title(self.sel.guest)} into a template?",
            "A template cannot be started; guests are created from it. On Proxmox this "
            "is irreversible.", "Convert", lambda b: b.convert_to_template(self.gid))

    # --- snapshots ----------------------------------------------------------------------

    async def _snapshots(self, title: str) -> None:
        from vmconsole.ui.modals.snapshots import SnapshotPanel

        snapshots = SnapshotFlows(self, self.clone)
        await self.app.push_screen_wait(SnapshotPanel(self.sel.guest, snapshots,
                                                      self._polled_tasks, self.app.symbols))

    def _polled_tasks(self) -> tuple[Task, ...]:
        result = self.app.latest.get(self.sel.cluster)
        return result.tasks if result else ()

    # --- migration and HA ---------------------------------------------------------------

    async def _migrate(self, title: str) -> None:
        targets = await self.query("migration targets",
                                    lambda b: b.migration_targets(self.gid))
        if targets is None:
            return
        away = self.app.maintenance_nodes(self.sel.cluster)
        targets = [replace(t, allowed=False, reason="in maintenance")
                   if t.node in away and t.allowed else t for t in targets]

        async def submit(req: MigrateRequest) -> Outcome:
            return await self.run(
                "migrate", f"Migrate {guest_title(self.sel.guest)} to {visible(req.node)}",
                lambda b: b.migrate(self.gid, req.node, req.mode, req.with_local_disks),
                {"node": req.node, "mode": str(req.mode),
                 "with_local_disks": req.with_local_disks})

        from vmconsole.ui.modals.migrate import MigrateForm

        await self.app.push_screen_wait(MigrateForm(self.sel.guest, targets, submit,
                                                    self.app.symbols))

    async def _ha(self, title: str) -> None:
        async def submit(settings: HASettings) -> Outcome:
            return await self.run("ha", title, lambda b: b.ha_set(self.gid, settings),
                                   asdict(settings))

        if self.sel.capabilities.ha_restart_priority:  # vSphere HA: no groups to ask for
            cluster = self.sel.inventory.container_of(self.sel.guest.node)
            if cluster is None or cluster.vsphere is None:
                self.app.notify(f"{visible(self.sel.guest.name)} runs on a standalone host: "
                                "vSphere HA works in a vSphere cluster", title=title,
                                severity="warning")
                return
            from vmconsole.ui.modals.vsphere_ha import VSphereHAForm

            await self.app.push_screen_wait(VSphereHAForm(self.sel.guest, self.sel.inventory,
                                                          submit))
            return
        groups = await self.query("HA groups", lambda b: b.ha_groups())
        if groups is None:
            return
        from vmconsole.ui.modals.ha import HAForm

        await self.app.push_screen_wait(HAForm(self.sel.guest, self.sel.inventory, groups,
                                               submit))

    async def _hardware(self, title: str) -> None:
        await edit_hardware(self, title)

    async def _backups(self, title: str) -> None:
        from vmconsole.ui.backup_flow import open_backups

        await open_backups(self, self._polled_tasks)

    async def _ha_remove(self, title: str) -> None:
        if self.sel.capabilities.ha_restart_priority:
            await self.confirmed_run(
                "ha-remove", title, f"Drop {self.sel.guest.name}'s own restart priority?",
                "It then follows the cluster's default: vSphere HA restarts it if HA is on "
                "for the cluster.", "Drop", lambda b: b.ha_remove(self.gid))
            return
        await self.confirmed_run(
            "ha-remove", title, f"Remove {guest_title(self.sel.guest)} from HA?",
            "The HA manager stops watching it: it is no longer restarted or recovered if "
            "its node fails.", "Remove", lambda b: b.ha_remove(self.gid))

    async def _delete(self, title: str) -> None:
        # In a tuple: the query's None means the read failed (and was shown).
        found = await self.query("what deleting it would do",
                                 lambda b: (removal_plan(b, self.gid),))
        if found is None:
            return
        plan, = found
        if plan is None:
            await self.confirmed_run(
                "destroy", title, f"Delete {guest_title(self.sel.guest)} and all its disks?",
                DELETE_WARNING, "Delete", lambda b: destroy(b, self.gid))
            return
        if plan.why_not:
            self._refuse(BY_NAME["delete"], title, plan.why_not)
            return
        from vmconsole.ui.modals.delete import DeleteScreen, removal_lines

        remove_storage = await self.app.push_screen_wait(DeleteScreen(
            title, f"Delete {guest_title(self.sel.guest)}?", removal_lines(plan)))
        if remove_storage is not None:
            await self.run("destroy", title,
                           lambda b: undefine(b, self.gid, remove_storage),
                           {"remove_storage": remove_storage})

    async def _console(self, title: str) -> None:
        from vmconsole.ui.screens.serial_console import open_serial_console  # pyte: ~35 ms

        open_serial_console(self.app, self.sel, title)


# The flows that open no screen: the keys typed after them are not theirs to keep (`s`
# then the arrow to the next guest's row).
RUN_AT_ONCE = frozenset({"start", "reboot"})
Flow = Callable[[GuestFlows, str], Coroutine[Any, Any, None]]
# Each guest action's flow (actions.ACTIONS), by the action's name; given the title.
FLOWS: dict[str, Flow] = {
    "start": GuestFlows._start,
    "shutdown": GuestFlows._shutdown,
    "stop": GuestFlows._stop,
    "reboot": GuestFlows._reboot,
    "create": GuestFlows._create,
    "template": GuestFlows._template,
    "snapshots": GuestFlows._snapshots,
    "clone": GuestFlows._clone,
    "migrate": GuestFlows._migrate,
    "ha": GuestFlows._ha,
    "ha_remove": GuestFlows._ha_remove,
    "hardware": GuestFlows._hardware,
    "backups": GuestFlows._backups,
    "console": GuestFlows._console,
    "delete": GuestFlows._delete,
}
