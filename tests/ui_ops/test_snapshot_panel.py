"""The snapshot panel end to end: take one with RAM, see it in the tree, roll back
(after a confirmation that defaults to No), clone from it, delete it."""

from __future__ import annotations

from textual.widgets import Tree

from tests.ui_ops.helpers import act, on_guest, panel_follows, settle, task_rows, tree_parent
from vmconsole.actor import Role
from vmconsole.ui.modals.clone import CloneForm
from vmconsole.ui.modals.confirm import ConfirmScreen
from vmconsole.ui.modals.snapshot_create import SnapshotCreateForm
from vmconsole.ui.modals.snapshots import SnapshotPanel


def panel_lines(panel: SnapshotPanel) -> list[str]:
    tree = panel.query_one(Tree)
    return [tree.get_node_at_line(i).label.plain for i in range(tree.last_line + 1)]


async def test_take_roll_back_clone_and_delete_a_snapshot(console, audit):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        guest_id = await on_guest(pilot, c, "web1")
        await act(pilot, "S")
        panel = c.app.screen
        assert isinstance(panel, SnapshotPanel)
        assert panel_lines(panel) == ["web1", "NOW  (the guest as it is)"]

        await act(pilot, "n")
        assert isinstance(c.app.screen, SnapshotCreateForm)
        await pilot.press(*"before", "tab", *"pre-upgrade", "tab", "space", "shift+tab",
                          "enter")
        await settle(pilot)
        assert c.app.screen is panel
        await panel_follows(pilot, c, 15)  # 2 GiB of RAM at 250 MiB/s, plus the disks
        lines = panel_lines(panel)
        assert lines[1].startswith("before  2026-01-01 12:00") and "+RAM" in lines[1]
        assert "pre-upgrade" in lines[1] and lines[2].startswith("NOW")
        snap = next(s for s in c.backend.snapshots(guest_id) if s.name == "before")
        assert snap.vmstate and snap.description == "pre-upgrade"

        tree = panel.query_one(Tree)
        await act(pilot, "j")  # onto "before", as ↓ (and k back, as ↑)
        assert tree.cursor_line == 1
        await act(pilot, "k")
        assert tree.cursor_line == 0
        await act(pilot, "j")
        await act(pilot, "r")
        assert isinstance(c.app.screen, ConfirmScreen)
        assert "lost" in c.app.screen.warning
        await pilot.press("escape")  # No
        await settle(pilot)
        assert [t.operation for t in c.backend.tasks()] == ["snapshot"]
        await act(pilot, "r")
        await act(pilot, "y")
        assert c.backend.tasks()[-1].operation == "rollback"
        await panel_follows(pilot, c, 15)

        await act(pilot, "c")
        form = c.app.screen
        assert isinstance(form, CloneForm)
        assert form.query_one("#snapshot").value == "before"  # running: from the snapshot
        await act(pilot, *"web1-copy", "enter")
        await panel_follows(pilot, c, 120)
        assert tree_parent(c.app, "web1-copy") == "node/pve1"

        await act(pilot, "x")
        await act(pilot, "y")
        await panel_follows(pilot, c, 5)
        assert panel_lines(panel) == ["web1", "NOW  (the guest as it is)"]
        operations = [r.operation for r in audit.read()]
        assert operations == ["snapshot", "rollback", "clone", "delsnapshot"]
        assert [r[-1] for r in task_rows(c.app)] == ["OK"] * 4


async def test_a_viewer_may_look_at_snapshots_but_not_take_one(console, audit):
    c = console(role=Role.VIEWER)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "S")
        assert isinstance(c.app.screen, SnapshotPanel)
        await act(pilot, "n")
        assert isinstance(c.app.screen, SnapshotPanel)  # no form opened
        [record] = list(audit.read())
        assert record.operation == "snapshot" and record.result.startswith("refused")
