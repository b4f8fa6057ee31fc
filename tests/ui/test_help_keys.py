"""Every key `?` shows works where `?` says it does: the test reads the help screen's
rows, and for each row and each of its keys sets up that context, presses the key and
checks what a user would see. A row without a check here fails the test, so a new key
cannot go unchecked. The palette lists no entry twice."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from textual.screen import Screen
from textual.widgets import DataTable, Input, OptionList

from tests.frozen import FrozenConsole
from tests.ui_ops.helpers import palette_entries, palette_search, task_log
from vmconsole.actor import Actor, Role
from vmconsole.audit import AuditRecord
from vmconsole.backends.backups import BackupSpec
from vmconsole.backends.base import TaskStatus
from vmconsole.model.addresses import AddressSource, GuestAddress
from vmconsole.operations import Outcome
from vmconsole.ui.modals.address_picker import AddressPicker
from vmconsole.ui.modals.backup_forms import BackupForm, RestoreForm
from vmconsole.ui.modals.backups import BackupPanel
from vmconsole.ui.modals.bulk import BulkConfirmScreen, BulkTargetScreen
from vmconsole.ui.modals.clone import CloneForm
from vmconsole.ui.modals.confirm import ConfirmScreen
from vmconsole.ui.modals.create_from_template import CreateFromTemplateForm
from vmconsole.ui.modals.crs import CRSForm
from vmconsole.ui.modals.delete import DeleteScreen
from vmconsole.ui.modals.fault_tolerance import FaultToleranceForm
from vmconsole.ui.modals.ha import HAForm
from vmconsole.ui.modals.ha_rule_forms import NodeAffinityForm, ResourceAffinityForm
from vmconsole.ui.modals.hardware import HardwareForm
from vmconsole.ui.modals.migrate import MigrateForm
from vmconsole.ui.modals.shutdown import ShutdownForm
from vmconsole.ui.modals.snapshot_create import SnapshotCreateForm
from vmconsole.ui.modals.snapshots import SnapshotPanel
from vmconsole.ui.modals.task_detail import TaskDetailScreen
from vmconsole.ui.screens.audit import AuditRecordScreen, AuditScreen, RecordFilter
from vmconsole.ui.screens.faults import FaultScreen
from vmconsole.ui.screens.ha_rules import HARulesScreen
from vmconsole.ui.screens.help import HelpRow, HelpScreen
from vmconsole.ui.screens.rebalance import RebalanceScreen
from vmconsole.ui.screens.serial_console import SerialConsoleScreen
from vmconsole.ui.serial_link import ConsoleMode
from vmconsole.ui.widgets.address_box import AddressBox
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef
from vmconsole.ui.widgets.ping_panel import PingPanel
from vmconsole.ui.widgets.plain_input import PlainInput

ScreenT = TypeVar("ScreenT", bound=Screen[Any])

WEB1, DB1, TEST1, TEMPLATE = "qemu/100", "qemu/101", "qemu/103", "qemu/9000"


class Walk:
    """One console, put into each context in turn."""

    def __init__(self, c: FrozenConsole, pilot) -> None:
        self.c, self.pilot, self.app = c, pilot, c.app

    async def until(self, condition: Callable[[], object], what: str,
                    seconds: float = 10.0) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.02)
            await self.pilot.pause()

    async def main_screen(self) -> None:
        """Close whatever is open, as Escape would (a waiting flow gets None)."""
        while len(self.app.screen_stack) > 1:
            self.app.screen.dismiss(None)
            await self.pilot.pause()
        await self.pilot.pause()

    async def tree_on(self, object_id: str) -> ClusterTree:
        await self.main_screen()
        tree = self.app.query_one(ClusterTree)
        assert tree.select_ref(TreeRef("lab", object_id))
        tree.focus()
        await self.pilot.pause()
        return tree

    async def press(self, key: str) -> None:
        await self.pilot.press(key)
        await self.pilot.pause()

    def on_top(self, kind: type[Screen]) -> bool:
        return isinstance(self.app.screen, kind)

    def cursor(self) -> str:
        ref = self.app.query_one(ClusterTree).selected_ref()
        return ref.object_id if ref else ""

    def tasks_on(self, guest: str, operation: str) -> int:
        return sum(1 for t in self.c.backend.tasks()
                   if t.target == guest and t.operation == operation)


Check = Callable[[Walk, str], Awaitable[None]]


def opens(kind: type[Screen], on: str = WEB1) -> Check:
    """The key, on guest ON, opens a screen of KIND."""
    async def check(w: Walk, key: str) -> None:
        await w.tree_on(on)
        await w.press(key)
        await w.until(lambda: w.on_top(kind), kind.__name__)
    return check


def starts_task(operation: str, on: str) -> Check:
    async def check(w: Walk, key: str) -> None:
        await w.tree_on(on)
        before = w.tasks_on(on, operation)
        await w.press(key)
        await w.until(lambda: w.tasks_on(on, operation) > before, f"a {operation} task")
    return check


def moves(start: str, expected: str) -> Check:
    """In the tree, from START the key puts the cursor on EXPECTED."""
    async def check(w: Walk, key: str) -> None:
        tree = await w.tree_on(start)
        tree.root.expand_all()
        await w.pilot.pause()
        await w.press(key)
        assert w.cursor() == expected, (key, w.cursor())
    return check


def toggles(selector: str) -> Check:
    async def check(w: Walk, key: str) -> None:
        await w.tree_on(WEB1)
        panel = w.app.query_one(selector)
        before = panel.has_class("visible")
        await w.press(key)
        assert panel.has_class("visible") is not before
        await w.press(key)
        assert panel.has_class("visible") is before
    return check


def sets_scale(start: float, expected: float) -> Check:
    async def check(w: Walk, key: str) -> None:
        await w.tree_on(WEB1)
        w.c.backend.set_time_scale(start)
        await w.press(key)
        await w.until(lambda: w.c.backend.time_scale == expected, f"time x{expected}")
        w.c.backend.set_time_scale(1.0)
    return check


async def filter_box(w: Walk, key: str) -> None:
    await w.tree_on(WEB1)
    await w.press(key)
    box = w.app.query_one("#filter", Input)
    assert box.has_class("visible") and w.app.focused is box
    await w.press("escape")


async def clear_filter(w: Walk, key: str) -> None:
    await w.tree_on(WEB1)
    await w.press("slash")
    for ch in "web":
        await w.press(ch)
    box = w.app.query_one("#filter", Input)
    assert box.value == "web"
    await w.press(key)
    assert box.value == "" and not box.has_class("visible")


async def refresh(w: Walk, key: str) -> None:
    await w.tree_on(WEB1)
    asked: list[bool] = []
    w.c.loop.refresh_soon = lambda: asked.append(True)  # type: ignore[method-assign]
    await w.press(key)
    assert asked, "no poll was asked for"


async def next_pane(w: Walk, key: str) -> None:
    await w.tree_on(WEB1)
    await w.press(key)
    assert w.app.focused is w.app.query_one("#detail")


async def previous_pane(w: Walk, key: str) -> None:
    await w.tree_on(WEB1)
    w.app.query_one("#detail").focus()
    await w.pilot.pause()
    await w.press(key)
    assert isinstance(w.app.focused, ClusterTree)


async def ping(w: Walk, key: str) -> None:
    await w.tree_on(DB1)
    watches = w.app.ping_watches
    if (running := watches.running_on("lab", DB1)) is not None:
        running.end("test")
    await w.press(key)
    assert watches.running_on("lab", DB1) is not None
    assert w.app.query_one(PingPanel).has_class("visible")


async def ping_address(w: Walk, key: str) -> None:
    await w.tree_on(WEB1)
    await w.press(key)
    assert isinstance(w.app.focused, AddressBox)
    await w.press("escape")


async def ping_pick(w: Walk, key: str) -> None:
    """On a simulated guest the simulator answers probes: `i` says so (the picker itself
    is tested on Proxmox guests in tests/ui/test_addresses.py)."""
    await w.tree_on(WEB1)
    await w.press(key)
    await w.until(lambda: any("probed through the simulator" in n.message
                              for n in w.app._notifications), "i's answer")


async def faults(w: Walk, key: str) -> None:
    await w.tree_on("node/pve3")
    await w.press(key)
    await w.until(lambda: w.on_top(FaultScreen), "the fault menu")


async def quits(w: Walk, key: str) -> None:
    await w.tree_on(WEB1)
    await w.press(key)
    await w.until(lambda: w.app._exit_renderables is not None or not w.app.is_running
                  or w.app.return_code is not None, "the console to quit")


async def in_task_log(w: Walk, key: str) -> None:
    await w.main_screen()
    log = task_log(w.app)
    w.app.show_panel(w.app.query_one("#tasks"), True)
    await w.until(lambda: log.row_count > 0, "a task in the log")
    log.focus()
    await w.pilot.pause()
    await w.press(key)
    await w.until(lambda: w.on_top(TaskDetailScreen), "the task's detail")


async def ping_stop(w: Walk, key: str) -> None:
    await w.tree_on(WEB1)
    if w.app.ping_watches.running_on("lab", WEB1) is None:
        await w.press("w")
    panel = w.app.query_one(PingPanel)
    watch = panel.watches.running_on("lab", WEB1)
    assert watch is not None
    panel.add_class("visible")
    panel.select(watch)
    await w.until(lambda: panel.query_one("#ping-list", OptionList).display, "the list")
    panel.query_one("#ping-list").focus()
    await w.pilot.pause()
    await w.press(key)
    assert not watch.running and watch.ended == "stopped by the user"


async def console_not_offered(w: Walk, key: str) -> None:
    """The simulator has no serial console: `C` says so instead of opening one."""
    await w.tree_on(WEB1)
    await w.press(key)
    await w.until(lambda: any("Serial console does not apply to web1" in str(n.message)
                              for n in w.app._notifications), "the refusal")
    assert not w.on_top(SerialConsoleScreen)


async def detach_console(w: Walk, key: str) -> None:
    """The detach key leaves the console's screen (here one the simulator could not
    open: the live round trip is tests/proxmox/test_serial_console_ui.py's)."""
    await w.main_screen()
    w.app.push_screen(SerialConsoleScreen(w.c.backend, "lab", WEB1, "web1",
                                          ConsoleMode.INTERACTIVE, lambda *record: None))
    await w.until(lambda: w.on_top(SerialConsoleScreen) and any(
        "could not open" in str(t.content) for t in w.app.screen.query("#serial-title")),
        "the console's screen, saying why it is not open")
    await w.press(key)
    await w.until(lambda: not w.on_top(SerialConsoleScreen), "the console's screen to close")


async def leave_address(w: Walk, key: str) -> None:
    await w.tree_on(WEB1)
    await w.press("W")
    assert isinstance(w.app.focused, AddressBox)
    await w.press(key)
    assert isinstance(w.app.focused, ClusterTree)


async def opens_or_closes(w: Walk, key: str, kind: type[Screen] | None,
                          over: type[Screen]) -> None:
    """Press KEY over a screen of type OVER: it opens KIND, or (None) closes OVER."""
    await w.press(key)
    if kind is None:
        await w.until(lambda: not w.on_top(over), f"the {over.__name__} to close")
    else:
        await w.until(lambda: w.on_top(kind), kind.__name__)


async def opened(w: Walk, key: str, kind: type[ScreenT],
                 ready: Callable[[ScreenT], object] = lambda screen: True,
                 on: str = WEB1) -> ScreenT:
    """The screen of KIND that KEY opens on ON, once READY says it shows its data."""
    await w.tree_on(on)
    await w.press(key)
    await w.until(lambda: isinstance(w.app.screen, kind) and ready(w.app.screen),
                  kind.__name__)
    screen = w.app.screen
    assert isinstance(screen, kind)
    return screen


async def snapshot_panel(w: Walk) -> SnapshotPanel:
    return await opened(w, "S", SnapshotPanel, lambda panel: panel.snapshots)


def in_snapshots(kind: type[Screen] | None, on_snapshot: bool = True) -> Check:
    """In the snapshot panel (on snapshot s1 when ON_SNAPSHOT), the key opens KIND, or
    (None) closes the panel."""
    async def check(w: Walk, key: str) -> None:
        panel = await snapshot_panel(w)
        if on_snapshot:
            tree = panel.query_one("#snap-tree")
            node = next(n for n in tree.root.children if n.data == "s1")  # type: ignore[attr-defined]
            tree.move_cursor(node)  # type: ignore[attr-defined]
            await w.pilot.pause()
        await opens_or_closes(w, key, kind, SnapshotPanel)
    return check


def in_the_list(way: int) -> Check:
    """In the snapshot panel, the key moves the list's cursor one row (WAY 1: down, -1:
    up), as it does in the backup panel's table: both are a TaskPanel's list."""
    async def check(w: Walk, key: str) -> None:
        panel = await snapshot_panel(w)
        tree = panel.query_one("#snap-tree")
        start = 0 if way > 0 else 1
        tree.cursor_line = start  # type: ignore[attr-defined]
        await w.pilot.pause()
        await w.press(key)
        await w.until(lambda: tree.cursor_line == start + way,  # type: ignore[attr-defined]
                      "the cursor to move")
    return check


async def backup_panel(w: Walk) -> BackupPanel:
    return await opened(w, "b", BackupPanel, lambda panel: panel.backups)


def in_backups(kind: type[Screen] | None) -> Check:
    """In the backup panel (on its one backup), the key opens KIND, or (None) closes it."""
    async def check(w: Walk, key: str) -> None:
        await backup_panel(w)
        await opens_or_closes(w, key, kind, BackupPanel)
    return check


async def rules_screen(w: Walk) -> HARulesScreen:
    """The HA rules screen, its rules read."""
    return await opened(w, "R", HARulesScreen, lambda screen: screen.rules is not None)


def rules_cursor(start: int, expected: int) -> Check:
    """In the HA rules screen, from row START the key puts the cursor on row EXPECTED."""
    async def check(w: Walk, key: str) -> None:
        table = (await rules_screen(w)).query_one(DataTable)
        table.move_cursor(row=start)
        await w.pilot.pause()
        await w.press(key)
        assert table.cursor_row == expected, (key, table.cursor_row)
    return check


def in_rules(kind: type[Screen] | None) -> Check:
    """In the HA rules screen (on its first rule), the key opens KIND, or (None) closes
    the screen."""
    async def check(w: Walk, key: str) -> None:
        await rules_screen(w)
        await opens_or_closes(w, key, kind, HARulesScreen)
    return check


async def rebalance_plan(w: Walk) -> RebalanceScreen:
    """The rebalance screen over the cluster, its plan computed (one move: proxy1)."""
    return await opened(w, "L", RebalanceScreen, lambda screen: screen.plan is not None)


def in_rebalance(kind: type[Screen] | None) -> Check:
    """In the rebalance plan, the key opens KIND (a confirmation, the help), or (None)
    closes the screen."""
    async def check(w: Walk, key: str) -> None:
        await rebalance_plan(w)
        await opens_or_closes(w, key, kind, RebalanceScreen)
    return check


async def rebalance_mode(w: Walk, key: str) -> None:
    """d shows the other scheduler's plan."""
    screen = await rebalance_plan(w)
    await w.press(key)
    await w.until(lambda: screen.mode == "dynamic" and screen.plan is not None
                  and screen.plan.mode == "dynamic", "the dynamic plan")


async def rebalance_recompute(w: Walk, key: str) -> None:
    """r computes the plan again."""
    screen = await rebalance_plan(w)
    before = screen.plan
    await w.press(key)
    await w.until(lambda: screen.plan is not None and screen.plan is not before,
                  "a new plan")


async def mark(w: Walk, key: str) -> None:
    """Space marks the guest under the cursor (and goes down); again unmarks it."""
    tree = await w.tree_on(WEB1)
    await w.press(key)
    assert tree.marks.of("lab") == [WEB1] and w.cursor() != WEB1
    await w.tree_on(WEB1)
    await w.press(key)
    assert not tree.marks.marked


async def mark_shown(w: Walk, key: str) -> None:
    """* marks every guest shown; again clears the marks."""
    tree = await w.tree_on(WEB1)
    await w.press(key)
    assert len(tree.marks) == len(w.c.backend.inventory().guests)
    await w.press(key)
    assert not tree.marks.marked


async def maintenance(w: Walk, key: str) -> None:
    """M on a node shows the plan that empties it (answered No here)."""
    await w.tree_on("node/pve3")
    await w.press(key)
    await w.until(lambda: w.on_top(BulkConfirmScreen), "the maintenance plan")


async def pushed(w: Walk, screen: Screen[Any], answers: list[Any] | None = None) -> Screen[Any]:
    """SCREEN over the main screen, as a flow opens it (what it returns goes to ANSWERS)."""
    await w.main_screen()
    w.app.push_screen(screen, None if answers is None else answers.append)
    await w.until(lambda: w.app.screen is screen and screen.is_mounted,
                  type(screen).__name__)
    return screen


def answers(make: Callable[[], Screen[Any]], expected: object) -> Check:
    """Over the screen MAKE gives, the key closes it with EXPECTED (Yes, No, a choice)."""
    async def check(w: Walk, key: str) -> None:
        got: list[Any] = []
        screen = await pushed(w, make(), got)
        await w.press(key)
        await w.until(lambda: w.app.screen is not screen, "the screen to close")
        assert got == [expected], (key, got)
    return check


def confirm() -> ConfirmScreen:
    return ConfirmScreen("Stop", "Stop web1?")


def delete_question() -> DeleteScreen:
    return DeleteScreen("Delete", "Delete web1?", ["undefine web1"])


def bulk_target() -> BulkTargetScreen:
    return BulkTargetScreen("Migrate 2 guests", [("pve1", ""), ("pve2", "")])


def address_picker() -> AddressPicker:
    return AddressPicker("web1", (GuestAddress("10.0.0.5", AddressSource.SIMULATOR),))


def audit_record() -> AuditRecordScreen:
    return AuditRecordScreen(AuditRecord("teacher", "admin", "local", "lab", WEB1, "start",
                                         "started"))


class Sent:
    """A form's submitter that keeps what the form sent, and says it was done."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    async def __call__(self, value: Any) -> Outcome:
        self.values.append(value)
        return Outcome(done="done")


async def shutdown_form(w: Walk, sent: Sent) -> ShutdownForm:
    """A form of one text box (the shutdown's timeout, 60), the box focused."""
    form = ShutdownForm("web1", sent)
    await pushed(w, form)
    await w.until(lambda: isinstance(w.app.focused, PlainInput), "the timeout box focused")
    return form


async def form_submit(w: Walk, key: str) -> None:
    """From a text box, the key submits the form."""
    sent = Sent()
    await shutdown_form(w, sent)
    await w.press(key)
    await w.until(lambda: sent.values == [60.0], "the form sent")


async def form_submit_from_choice(w: Walk, key: str) -> None:
    """From a checkbox, the key submits the form (it does not tick the box)."""
    sent = Sent()
    form = SnapshotCreateForm("web1", [], True, sent)
    await pushed(w, form)
    form.query_one("#name", PlainInput).value = "s2"
    form.query_one("#vmstate").focus()
    await w.pilot.pause()
    await w.press(key)
    await w.until(lambda: len(sent.values) == 1, "the form sent")
    assert sent.values[0].name == "s2" and not sent.values[0].vmstate


async def form_next(w: Walk, key: str) -> None:
    """The key leaves the text box for the form's next field or button."""
    await shutdown_form(w, Sent())
    box = w.app.focused
    await w.press(key)
    assert w.app.focused is not None and w.app.focused is not box


async def form_cancel(w: Walk, key: str) -> None:
    """The key closes the form, sending nothing."""
    sent = Sent()
    form = await shutdown_form(w, sent)
    await w.press(key)
    await w.until(lambda: w.app.screen is not form, "the form to close")
    assert not sent.values


def closes(make: Callable[[Walk], Awaitable[Screen[Any]]]) -> Check:
    """Over the screen MAKE opens, the key closes it."""
    async def check(w: Walk, key: str) -> None:
        screen = await make(w)
        await w.press(key)
        await w.until(lambda: w.app.screen is not screen, f"{type(screen).__name__} to close")
    return check


async def fault_menu(w: Walk) -> FaultScreen:
    return await opened(w, "f", FaultScreen, on="node/pve3")


async def audit_screen(w: Walk) -> AuditScreen:
    return await opened(w, "a", AuditScreen)


async def audit_filter(w: Walk, key: str) -> None:
    """In the audit log, the key puts the cursor in its filter box."""
    await audit_screen(w)
    await w.press(key)
    assert isinstance(w.app.focused, RecordFilter)


async def task_detail(w: Walk) -> Screen[Any]:
    await in_task_log(w, "enter")
    return w.app.screen


async def help_screen(w: Walk) -> HelpScreen:
    return await opened(w, "question_mark", HelpScreen)


async def form_on_its_button(w: Walk) -> Screen[Any]:
    """A form with the focus on its button (in its text box, `?` is text)."""
    form = await shutdown_form(w, Sent())
    await w.press("tab")
    assert not isinstance(w.app.focused, PlainInput)
    return form


CHECKS: dict[str, Check] = {
    "app.filter": filter_box,
    "app.clear_filter": clear_filter,
    "app.help": opens(HelpScreen),
    "app.tasks": toggles("#tasks"),
    "app.refresh": refresh,
    "app.audit": opens(AuditScreen),
    "cluster.rebalance": opens(RebalanceScreen, "cluster"),
    "app.next_pane": next_pane,
    "app.previous_pane": previous_pane,
    "app.ping": ping,
    "app.ping_address": ping_address,
    "app.ping_pick": ping_pick,
    "teach.panel": toggles("#teaching"),
    "teach.pause": sets_scale(1.0, 0.0),
    "teach.faster": sets_scale(1.0, 10.0),
    "teach.slower": sets_scale(10.0, 1.0),
    "teach.faults": faults,
    "teach.rules": opens(HARulesScreen),
    "teach.ft": opens(FaultToleranceForm, TEST1),
    "rules.close": in_rules(None),
    "rules.new_node": in_rules(NodeAffinityForm),
    "rules.new_resource": in_rules(ResourceAffinityForm),
    "rules.edit": in_rules(NodeAffinityForm),
    "rules.delete": in_rules(ConfirmScreen),
    "rules.crs": in_rules(CRSForm),
    "rules.down": rules_cursor(0, 1),
    "rules.up": rules_cursor(1, 0),
    "rebalance.apply": in_rebalance(ConfirmScreen),
    "rebalance.apply_all": in_rebalance(ConfirmScreen),
    "rebalance.mode": rebalance_mode,
    "rebalance.recompute": rebalance_recompute,
    "rebalance.close": in_rebalance(None),
    "guest.start": starts_task("start", TEST1),
    "guest.shutdown": opens(ShutdownForm),
    "guest.stop": opens(ConfirmScreen),
    "guest.reboot": starts_task("reboot", DB1),
    "guest.create": opens(CreateFromTemplateForm, TEMPLATE),
    "guest.template": opens(ConfirmScreen, TEST1),
    "guest.snapshots": opens(SnapshotPanel),
    "guest.backups": opens(BackupPanel),
    "guest.clone": opens(CloneForm, TEST1),
    "guest.migrate": opens(MigrateForm),
    "guest.ha": opens(HAForm),
    "guest.hardware": opens(HardwareForm),
    "guest.console": console_not_offered,
    "serial.detach": detach_console,
    "tree.down": moves("node/pve1", WEB1),
    "tree.up": moves(WEB1, "node/pve1"),
    "tree.expand": moves("node/pve1", WEB1),
    "tree.collapse": moves(WEB1, "node/pve1"),
    "tree.top": moves(WEB1, "cluster"),
    "tree.bottom": moves("node/pve1", "storage/san"),  # the cluster's shared storage, last
    "tasks.open": in_task_log,
    "ping.stop": ping_stop,
    "ping.leave": leave_address,
    "snapshots.close": in_snapshots(None, on_snapshot=False),
    "snapshots.take": in_snapshots(SnapshotCreateForm, on_snapshot=False),
    "snapshots.rollback": in_snapshots(ConfirmScreen),
    "snapshots.delete": in_snapshots(ConfirmScreen),
    "snapshots.clone": in_snapshots(CloneForm),
    "panel.down": in_the_list(1),
    "panel.up": in_the_list(-1),
    "backups.close": in_backups(None),
    "backups.take": in_backups(BackupForm),
    "backups.restore": in_backups(RestoreForm),
    "backups.delete": in_backups(ConfirmScreen),
    "tree.mark": mark,
    "tree.mark_shown": mark_shown,
    "node.maintenance": maintenance,
    "form.cancel": form_cancel,
    "form.submit": form_submit,
    "form.submit_from_choice": form_submit_from_choice,
    "form.next": form_next,
    "confirm.no": answers(confirm, False),
    "confirm.yes": answers(confirm, True),
    "delete.no": answers(delete_question, None),
    "delete.disks": answers(delete_question, True),
    "delete.keep": answers(delete_question, False),
    "bulk.cancel": answers(bulk_target, None),
    "addresses.close": answers(address_picker, None),
    "task.close": closes(task_detail),
    "faults.cancel": closes(fault_menu),
    "audit.close": closes(audit_screen),
    "audit.filter": audit_filter,
    "audit.record.close": closes(lambda w: pushed(w, audit_record())),
    "help.close": closes(help_screen),
    "app.quit": quits,  # last: the console is gone after it
}


async def walk_with_tasks(c: FrozenConsole, pilot) -> Walk:
    """The console polled, with two tasks done on web1: snapshot s1 and a backup."""
    c.poll()
    await pilot.pause()
    for start in (lambda: c.backend.snapshot_create(WEB1, "s1", "", False),
                  lambda: c.backend.backup(WEB1, BackupSpec("local"))):
        task = start()
        for _ in range(60):
            c.poll(advance=2.0)
            await pilot.pause()
            if any(t.id == task.id and t.status is not TaskStatus.RUNNING
                   for t in c.backend.tasks()):
                break
    return Walk(c, pilot)


async def help_rows(w: Walk) -> list[HelpRow]:
    await w.tree_on(WEB1)
    await w.press("question_mark")
    screen = w.app.screen
    assert isinstance(screen, HelpScreen)
    rows = list(screen.rows)
    await w.press("escape")
    return rows


async def test_every_key_in_the_help_works_where_the_help_says():
    c = FrozenConsole(actor=Actor("teacher", Role.ADMIN))
    async with c.app.run_test(size=(120, 50)) as pilot:
        w = await walk_with_tasks(c, pilot)
        rows = await help_rows(w)
        ids = [row.binding_id for row in rows]
        assert len(ids) == len(set(ids)), "a binding is listed twice"
        assert set(ids) == set(CHECKS), (
            f"help rows without a check: {sorted(set(ids) - set(CHECKS))}; "
            f"checks without a row: {sorted(set(CHECKS) - set(ids))}")
        assert all(row.binding_id and row.description for row in rows)
        by_id = {row.binding_id: row for row in rows}
        for binding_id, check in CHECKS.items():
            for key in by_id[binding_id].names:
                try:
                    await check(w, key)
                except AssertionError as exc:
                    raise AssertionError(f"{binding_id} ({key}, "
                                         f"{by_id[binding_id].context}): {exc}") from exc
                if binding_id == "app.quit":
                    return


# Every screen over the main one, opened as a user opens it, and the help's contexts
# that are its keys.
SCREENS: dict[str, tuple[Callable[[Walk], Awaitable[Screen[Any]]], set[str]]] = {
    "HA rules": (rules_screen, {"in the HA rules screen"}),
    "snapshot panel": (snapshot_panel, {"in the snapshot and backup panels",
                                        "in the snapshot panel"}),
    "backup panel": (backup_panel, {"in the snapshot and backup panels",
                                    "in the backup panel"}),
    "rebalance plan": (rebalance_plan, {"in the rebalance plan"}),
    "fault menu": (fault_menu, {"in the fault menu"}),
    "audit log": (audit_screen, {"in the audit log"}),
    "audit record": (lambda w: pushed(w, audit_record()), {"in an audit record"}),
    "task detail": (task_detail, {"in a task's detail"}),
    "form": (form_on_its_button, {"in a form"}),
    "yes-or-no question": (lambda w: pushed(w, confirm()), {"in a yes-or-no question"}),
    "delete question": (lambda w: pushed(w, delete_question()),
                        {"in the question before a delete"}),
    "bulk migration's node": (lambda w: pushed(w, bulk_target()),
                              {"in the bulk migration's choice of node"}),
    "address picker": (lambda w: pushed(w, address_picker()), {"in the address picker"}),
}


@pytest.mark.parametrize("where", list(SCREENS))
async def test_question_mark_over_every_screen_shows_the_help_with_its_keys_first(where):
    """A tester's finding: `?` did nothing over a panel, a form or a question (a modal
    screen's keys stop the app's). Now it shows the help, the screen's own keys first,
    and Esc goes back to the screen."""
    opener, contexts = SCREENS[where]
    c = FrozenConsole(actor=Actor("teacher", Role.ADMIN))
    async with c.app.run_test(size=(120, 50)) as pilot:
        w = await walk_with_tasks(c, pilot)
        screen = await opener(w)
        await w.press("question_mark")
        await w.until(lambda: w.on_top(HelpScreen), "the help")
        rows = w.app.screen.rows  # type: ignore[attr-defined]
        first = list(itertools.takewhile(lambda row: row.context in contexts, rows))
        assert {row.context for row in first} == contexts, [r.context for r in rows[:3]]
        assert not any(row.context in contexts for row in rows[len(first):])
        await w.press("escape")
        await w.until(lambda: w.app.screen is screen, "back on the screen")


async def test_question_mark_typed_in_a_text_box_or_the_serial_console_stays_text(
        monkeypatch):
    """`?` is the help where it is not text: in a form's text box it is typed, and in
    the serial console it goes to the guest."""
    monkeypatch.setattr(SerialConsoleScreen, "_open", lambda self, force: None)
    c = FrozenConsole(actor=Actor("teacher", Role.ADMIN))
    async with c.app.run_test(size=(120, 50)) as pilot:
        w = Walk(c, pilot)
        form = await shutdown_form(w, Sent())
        await w.press("question_mark")
        # (the box's text is selected once focused: the key types over it)
        assert form.query_one("#timeout", PlainInput).value == "?"
        assert w.app.screen is form
        serial = SerialConsoleScreen(c.backend, "lab", WEB1, "web1",
                                     ConsoleMode.INTERACTIVE, lambda *record: None)
        sent: list[bytes] = []
        monkeypatch.setattr(serial.link, "send", sent.append)
        await pushed(w, serial)
        await w.press("question_mark")
        assert sent == [b"?"] and w.app.screen is serial


async def test_the_palette_lists_no_entry_twice(console_factory):
    c = console_factory(actor=Actor("teacher", Role.ADMIN))
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        c.app.query_one(ClusterTree).select_ref(TreeRef("lab", WEB1))
        await pilot.pause()
        await pilot.press("ctrl+p")
        await palette_search(pilot, "")  # all it offers, each batch of them listed
        titles = palette_entries(c.app)
        assert titles, "the palette lists nothing"
        assert len(titles) == len(set(titles)), sorted(t for t in titles
                                                       if titles.count(t) > 1)
        assert any(t.startswith("Keys") for t in titles)
