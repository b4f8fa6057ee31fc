"""Enter submits a form from a closed Select or a RadioSet, as from every other field;
Space and the arrows open the Select and pick in it, Enter in its open list picks."""

from __future__ import annotations

import time

from textual.widgets import Select

from tests.ui_ops.helpers import act, on_guest, poll, wait_until
from vmconsole.actor import Role
from vmconsole.ui.modals.ha import HAForm


async def test_enter_on_a_closed_select_submits_and_space_opens_it(console, audit):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        guest_id = await on_guest(pilot, c, "test1")
        await act(pilot, "H")
        form = c.app.screen
        assert isinstance(form, HAForm)
        request = form.query_one("#request", Select)
        request.focus()
        await act(pilot, "space")
        assert request.expanded  # Space opens the list
        await act(pilot, "down", "enter")  # Enter in the open list picks an option
        assert c.app.screen is form and not request.expanded
        assert request.value == "stopped"
        await act(pilot, "enter")  # on the closed Select: submits
        await wait_until(pilot, lambda: c.app.screen is not form, 10, "the form submitted")
        ha = c.backend.inventory().guest(guest_id).ha
        assert ha is not None and ha.request == "stopped"
        assert [r.operation for r in audit.read()] == ["ha"]


async def test_a_dialogs_key_line_lists_its_own_keys(console):
    """A tester's finding: over a dialog the key line still was the console's (only
    `? Help`, `q Quit`), never the dialog's Enter, Tab or Esc."""
    from vmconsole.ui.modals.confirm import ConfirmScreen
    from vmconsole.ui.modals.migrate import MigrateForm
    from vmconsole.ui.screens.help import HelpScreen

    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        for keys, dialog, shown in (
                (["m"], MigrateForm, "⏎ Submit tab Next field esc Cancel"),
                (["escape", "X"], ConfirmScreen, "esc No y Yes"),
                (["escape", "question_mark"], HelpScreen,
                 "↑↓ Scroll pgup pgdn Page esc Close")):
            await act(pilot, *keys)
            assert isinstance(c.app.screen, dialog)
            await wait_until(pilot, lambda shown=shown: key_line(c.app) == shown, 10,
                             f"{shown!r} on the key line")


def key_line(app) -> str:
    """The screen's last row as a terminal shows it, its spaces squeezed."""
    import pyte

    update = app.screen._compositor.render_full_update()
    terminal = pyte.Screen(*app.size)
    pyte.Stream(terminal).feed(update.render_segments(app.console))
    return " ".join(terminal.display[-1].split())


async def test_a_list_or_a_long_text_says_on_its_key_line_how_to_move_in_it(console, audit):
    """The last note's finding: the fault menu's key line showed `esc Cancel` only, not
    its arrows and Enter; the help, a task's detail and an audit record scroll, and their
    key lines did not say how (nor the audit log's that Enter shows a record whole). A
    view with nothing to scroll does not offer to."""
    from vmconsole.audit import AuditRecord
    from vmconsole.backends.base import Task, TaskStatus
    from vmconsole.ui.modals.task_detail import TaskDetailScreen
    from vmconsole.ui.screens.audit import AuditRecordScreen
    from vmconsole.ui.screens.faults import FaultScreen
    from vmconsole.ui.screens.help import HelpScreen
    from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef

    scrolls = "↑↓ Scroll pgup pgdn Page esc Close"
    for operation, parameters in (("tag", {f"tag{i}": "x" for i in range(40)}),
                                  ("start", {})):
        audit.append(AuditRecord(user="alice", role="operator", source="local",
                                 cluster="lab", target="qemu/100", operation=operation,
                                 result="ok", parameters=parameters))
    c = console(Role.ADMIN)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await poll(pilot, c)
        tree = c.app.query_one(ClusterTree)
        assert tree.select_ref(TreeRef("lab", "node/pve1"))
        tree.focus()
        await act(pilot, "f")
        assert isinstance(c.app.screen, FaultScreen)
        await wait_until(pilot, lambda: key_line(c.app) == "↑↓ Move ⏎ Choose esc Cancel",
                         10, "the fault menu's keys")
        await act(pilot, "down", "down", "down", "down", "enter")  # a partition: its box
        await wait_until(pilot, lambda: key_line(c.app) == "⏎ Partition esc Cancel", 10,
                         "the partition box's keys")
        await act(pilot, "escape", "question_mark")
        assert isinstance(c.app.screen, HelpScreen)
        await wait_until(pilot, lambda: key_line(c.app) == scrolls, 10, "the help's keys")
        await act(pilot, "escape", "a")
        await wait_until(pilot, lambda: key_line(c.app).startswith(
            "←→ Columns ⏎ Record esc Back / Filter"), 10, "the audit log's keys")
        await act(pilot, "enter")  # the newest record: a start
        assert isinstance(c.app.screen, AuditRecordScreen)
        await wait_until(pilot, lambda: key_line(c.app) == "esc Close", 10,
                         "a short record's keys")
        await act(pilot, "escape", "up", "enter")  # the tag, with 40 parameters
        assert isinstance(c.app.screen, AuditRecordScreen)
        await wait_until(pilot, lambda: key_line(c.app) == scrolls, 10,
                         "a long record's keys")
        await act(pilot, "escape", "escape", "W")  # the ping address box
        await wait_until(pilot, lambda: key_line(c.app).startswith(
            "⏎ Ping esc Leave the address box"), 10, "the address box's keys")
        await act(pilot, "escape")
        now = time.time()
        for lines, shown in ((3, "esc Close"), (60, scrolls)):
            task = Task("UPID:1", "clone", "qemu/100", "pve1", "root@pam", now - 5,
                        TaskStatus.OK, now, log=tuple(f"line {i}" for i in range(lines)))
            c.app.push_screen(TaskDetailScreen("lab", task, lambda task=task: (task, now)))
            await wait_until(pilot, lambda shown=shown: key_line(c.app) == shown, 10,
                             f"the keys of a task with {lines} log lines")
            await act(pilot, "escape")


async def test_a_text_box_s_key_line_leaves_out_the_keys_it_types(console, audit):
    """`/ Filter` stayed on the key line while a filter or an address was typed, where
    `/` is a character (a tester at 80x24): Textual leaves out the bindings of the keys
    a box types, but found no character for "slash". Typed, `/` goes into the box."""
    from textual.widgets import Input

    from vmconsole.ui.screens.audit import AuditScreen

    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "slash")
        await wait_until(pilot, lambda: key_line(c.app).startswith(
            "⏎ Back to the tree esc Clear filter ▏^p"), 10, "the filter box's keys")
        await act(pilot, *"a/b")
        assert c.app.query_one("#filter", Input).value == "a/b"
        await act(pilot, "escape", "W")
        await wait_until(pilot, lambda: key_line(c.app).startswith(
            "⏎ Ping esc Leave the address box ▏^p"), 10, "the address box's keys")
        await act(pilot, "escape", "a")
        assert isinstance(c.app.screen, AuditScreen)
        await act(pilot, "slash")
        await wait_until(pilot, lambda: isinstance(c.app.focused, Input), 10,
                         "the focus in a filter")
        await wait_until(pilot, lambda: "/ Filter" not in key_line(c.app), 10,
                         "the audit filter's keys")
        assert key_line(c.app).startswith("⏎ Back to the records esc Back ▏^p")
        await act(pilot, *"bob", "enter")  # as it says
        assert c.app.focused is c.app.screen.query_one("#audit-table")


async def test_a_refused_fault_tolerance_form_does_not_offer_tab(console, audit):
    """F on web1 (HA-managed: FT refuses it) shows the reasons, no choice and no Submit;
    its key line said "tab Next field", though Tab reaches only Cancel."""
    from vmconsole.ui.modals.fault_tolerance import FaultToleranceForm

    c = console(Role.ADMIN)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "F")
        form = c.app.screen
        assert isinstance(form, FaultToleranceForm) and form.refused
        await wait_until(pilot, lambda: key_line(c.app).startswith("esc Cancel"), 10,
                         "the refused form's keys")
        assert "tab" not in key_line(c.app)
