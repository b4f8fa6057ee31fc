"""The backup panel end to end at 80x24: back up now through the form, see the backup
listed and the task in the task log, restore it to a new id, refuse an overwrite of a
running guest, delete it after a confirmation that defaults to No; a viewer and a
read-only console may look but change nothing."""

from __future__ import annotations

from textual.widgets import DataTable, RadioButton, Select

from tests.ui_ops.helpers import (
    act,
    notes,
    on_guest,
    panel_follows,
    task_rows,
    tree_parent,
)
from vmconsole.actor import Role
from vmconsole.ui.modals.backup_forms import BackupForm, RestoreForm
from vmconsole.ui.modals.backups import BackupPanel
from vmconsole.ui.modals.confirm import ConfirmScreen


def rows(panel: BackupPanel) -> list[list[str]]:
    table = panel.query_one(DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_back_up_restore_and_delete_from_the_panel(console, audit):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        guest_id = await on_guest(pilot, c, "build1")
        await act(pilot, "b")
        panel = c.app.screen
        assert isinstance(panel, BackupPanel)
        assert rows(panel) == []
        assert "no backups" in str(panel.query_one("#backup-info").render())

        await act(pilot, "n")
        form = c.app.screen
        assert isinstance(form, BackupForm)
        assert form.query_one("#storage", Select).value == "local"  # the one that takes backups
        assert form.query_one("#compression", Select).value == "zstd"
        await act(pilot, "tab", "tab", "tab", "tab", "enter")  # past the lists, onto Back up
        assert c.app.screen is panel
        [task] = c.backend.tasks()
        assert task.operation == "backup" and task.id.split(":")[5] == "vzdump"
        await panel_follows(pilot, c, 60)
        [row] = rows(panel)
        assert row[2:] == ["local", "snapshot", "zstd"] and row[1].endswith("GiB")
        assert task_rows(c.app)[0][-1] == "OK"

        await act(pilot, "r")
        restore = c.app.screen
        assert isinstance(restore, RestoreForm)
        await act(pilot, "tab", "enter")  # in the id field: the next free id, proposed
        assert c.app.screen is panel
        await panel_follows(pilot, c, 60)
        assert tree_parent(c.app, "build1") == "node/pve3"
        restored = [g for g in c.backend.inventory().guests if g.name == "build1"]
        assert len(restored) == 2  # the guest and its restored copy under a new id

        await act(pilot, "r")  # over the running guest: not offered, and why
        form = c.app.screen
        assert isinstance(form, RestoreForm)
        assert form.query_one("#overwrite-choice", RadioButton).disabled
        assert "stop it first" in str(form.query_one("#note-overwrite").render())
        await act(pilot, "escape")

        c.backend.stop(guest_id)
        await panel_follows(pilot, c, 5)
        await act(pilot, "r", "down")  # the arrow chooses "over the guest"
        restore = c.app.screen
        assert isinstance(restore, RestoreForm)
        assert restore.query_one("#overwrite-choice", RadioButton).value
        await pilot.press("enter")  # and Enter submits from the choice
        for _ in range(100):  # the form's worker waits on the question
            if isinstance(c.app.screen, ConfirmScreen):
                break
            await pilot.pause(0.02)
        assert isinstance(c.app.screen, ConfirmScreen)
        assert "every snapshot" in c.app.screen.warning
        await act(pilot, "y")
        assert c.app.screen is panel
        assert c.backend.tasks()[-1].operation == "restore"
        await panel_follows(pilot, c, 60)

        await act(pilot, "x")
        assert isinstance(c.app.screen, ConfirmScreen)
        await act(pilot, "escape")  # No
        assert len(rows(panel)) == 1
        await act(pilot, "x", "y")
        await panel_follows(pilot, c, 5)
        assert rows(panel) == []
        operations = [r.operation for r in audit.read()]
        assert operations == ["backup", "restore", "restore", "delbackup"]
        assert [r[-1] for r in task_rows(c.app)] == ["OK"] * 5  # with the stop


async def test_a_viewer_may_look_at_backups_but_not_take_one(console, audit):
    c = console(role=Role.VIEWER)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "build1")
        await act(pilot, "b")
        assert isinstance(c.app.screen, BackupPanel)
        await act(pilot, "n")
        assert isinstance(c.app.screen, BackupPanel)  # no form opened
        [record] = list(audit.read())
        assert record.operation == "backup" and record.result.startswith("refused")
        assert any("viewer" in n for n in notes(c.app))


async def test_a_read_only_console_backs_nothing_up(console, audit):
    c = console(read_only=True)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "build1")
        await act(pilot, "b")
        await act(pilot, "n")
        assert isinstance(c.app.screen, BackupPanel)
        assert c.backend.tasks() == []
        [record] = list(audit.read())
        assert "read-only" in record.result


async def test_arrowing_through_the_lists_never_leaves_a_blank_choice(console):
    """The tester's finding: arrowing up past the first mode showed a blank Mode, which
    then submitted `snapshot` all the same. Each list holds only real choices."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "build1")
        await act(pilot, "b", "n")
        form = c.app.screen
        assert isinstance(form, BackupForm)
        for name in ("mode", "storage", "compression"):
            select = form.query_one(f"#{name}", Select)
            select.focus()
            await act(pilot, "space", "up", "enter")  # open, up from the first, choose
            shown = str(select.query_one("SelectCurrent Static").render())
            assert select.value != Select.NULL and str(select.value) in shown, name
