"""A read-only console (`--read-only`, a profile's `read_only = true`): every change is
refused before the backend hears of it, whatever the role; none is offered in the
palette; the header says so. Each refusal is audited."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from tests.ui_ops.helpers import act, notes, on_guest, poll, settle, wait_until
from vmconsole.actor import Role
from vmconsole.backends.sim.clock import ManualClock
from vmconsole.operations import READ_ONLY_REFUSAL
from vmconsole.ui.actions import ACTIONS
from vmconsole.ui.guest_commands import entries
from vmconsole.ui.modals.snapshots import SnapshotPanel
from vmconsole.ui.screens.faults import FaultScreen
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef

# The guest each change applies to in the classic lab (create: a template; ha_remove:
# an HA guest; template: a stopped one).
GUEST = {"create": "debian12-template", "template": "test1", "start": "test1"}
CHANGES = [a for a in ACTIONS if a.changes]


async def refused(pilot, c, audit, operation: str) -> None:
    """The last thing done was refused for read-only mode: said, audited, and the
    backend untouched."""
    await wait_until(pilot, lambda: READ_ONLY_REFUSAL in notes(c.app), 10,
                     f"the read-only refusal of {operation}")
    await settle(pilot)
    records = [r for r in audit.read() if r.operation == operation]
    assert [r.result for r in records] == [f"refused: {READ_ONLY_REFUSAL}"]
    assert c.backend.tasks() == []


@pytest.mark.parametrize("action", CHANGES, ids=[a.name for a in CHANGES])
async def test_every_guest_change_is_refused_by_its_key_even_for_an_admin(console, audit,
                                                                          action):
    c = console(role=Role.ADMIN, read_only=True)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, GUEST.get(action.name, "web1"))
        if action.key is None:  # from the palette only
            c.app.action_guest(action.name)
        else:
            await pilot.press(action.key)
        await refused(pilot, c, audit, action.audited_as)
        assert c.app.screen is c.app.screen_stack[0]  # no form, no question


async def test_every_snapshot_change_is_refused_in_the_panel(console, audit):
    c = console(role=Role.ADMIN, read_only=True)
    c.backend.snapshot_create("qemu/100", "before", "", False)
    c.clock.advance(60)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "S")
        assert isinstance(c.app.screen, SnapshotPanel)  # looking is fine
        hint = str(c.app.screen.query_one("#snap-keys", Static).render())
        assert "close" in hint and "take" not in hint and "roll back" not in hint
        info = c.app.screen.query_one("#snap-info", Static)
        await wait_until(pilot, lambda: "1 snapshot" in str(info.render()), 10, "the count")
        assert "press" not in str(info.render())  # no key it would be refused
        before = len(c.backend.tasks())
        await pilot.press("down")  # onto "before"
        for key, operation in (("n", "snapshot"), ("r", "rollback"), ("x", "delsnapshot"),
                               ("c", "clone")):
            await act(pilot, key)
            assert isinstance(c.app.screen, SnapshotPanel), key  # nothing opened
            await wait_until(pilot, lambda op=operation: any(
                r.operation == op for r in audit.read()), 10, f"{operation} audited")
        assert [(r.operation, r.result) for r in audit.read()] == [
            (op, f"refused: {READ_ONLY_REFUSAL}")
            for op in ("snapshot", "rollback", "delsnapshot", "clone")]
        assert len(c.backend.tasks()) == before
        assert [s.name for s in c.backend.snapshots("qemu/100")] == ["before"]


async def test_the_teaching_changes_are_refused_and_the_clock_keeps_its_speed(console,
                                                                              audit):
    c = console(role=Role.ADMIN, read_only=True)
    assert isinstance(c.clock, ManualClock)
    scale = c.backend.time_scale
    async with c.app.run_test(size=(80, 24)) as pilot:
        await poll(pilot, c)
        tree = c.app.query_one(ClusterTree)
        assert tree.select_ref(TreeRef(c.backend.name, "node/pve1"))
        tree.focus()
        await pilot.press("p")
        await refused(pilot, c, audit, "time_scale")
        await pilot.press("right_square_bracket")
        await wait_until(pilot, lambda: len(list(audit.read())) == 2, 10, "second refusal")
        await pilot.press("f")  # the fault menu does not open
        await wait_until(pilot, lambda: len(list(audit.read())) == 3, 10, "third refusal")
        assert not isinstance(c.app.screen, FaultScreen)
        c.app._start_scenario(c.loop, "split-brain")  # the palette offers it no more
        await wait_until(pilot, lambda: len(list(audit.read())) == 4, 10, "fourth refusal")
        assert [(r.operation, r.result) for r in audit.read()] == [
            (op, f"refused: {READ_ONLY_REFUSAL}")
            for op in ("time_scale", "time_scale", "fault_injection", "scenario")]
        assert c.backend.time_scale == scale and c.backend.scenario_summary() == []


async def test_the_ha_rules_screen_offers_a_read_only_console_only_to_look(console):
    from vmconsole.ui.screens.ha_rules import HARulesScreen

    c = console(role=Role.ADMIN, read_only=True)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await poll(pilot, c)
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(c.app.screen, HARulesScreen), 10,
                         "the HA rules")
        hint = str(c.app.screen.query_one("#rules-keys", Static).render())
        assert "close" in hint and "rule" not in hint and "delete" not in hint


async def test_vcenters_extras_are_refused_before_asking(console, audit):
    c = console(role=Role.ADMIN, read_only=True)
    async with c.app.run_test(size=(80, 24)) as pilot:
        guest_id = await on_guest(pilot, c, "debian12-template")
        c.app.maintenance(c.backend.name, "pve1")  # the palette's entry runs M's flow
        await refused(pilot, c, audit, "maintenance_enable")
        c.app.template_to_vm(c.backend.name, guest_id, "debian12-template", "pve1")
        await refused(pilot, c, audit, "template_to_vm")


async def test_the_palette_offers_no_change_and_the_header_says_read_only(console):
    c = console(role=Role.ADMIN, read_only=True)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        offered = {e.title.plain.split(":")[0] for e in entries(c.app)}
        assert offered == {"Snapshots", "Backups"}  # the actions that only look
        titles = [command.title for command in c.app.get_system_commands(c.app.screen)]
        assert not any(t.startswith(("Scenario:", "CRS: apply", "Fault tolerance"))
                       for t in titles)
        assert "Scenario summary" in titles  # readings stay
        assert c.app.sub_title == "alice (admin, read-only)"


async def test_an_operator_console_that_is_not_read_only_still_operates(console, audit):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "test1")
        await act(pilot, "s")
        assert [(r.operation, r.result) for r in audit.read()] == [("start", "started")]
        assert c.app.sub_title == "alice (operator)"


async def test_the_demo_status_line_offers_no_key_a_read_only_console_may_not_use(console):
    """A tester's finding: it offered "p pause  [ ] speed  f faults", each refused."""
    c = console(role=Role.ADMIN, read_only=True)
    async with c.app.run_test(size=(100, 30)) as pilot:
        await on_guest(pilot, c, "web1")
        status = str(c.app.query_one("#teach-status", Static).render())
        assert "time x" in status and "votes" in status
        assert "pause" not in status and "speed" not in status and "faults" not in status
