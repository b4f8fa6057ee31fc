"""The backup panel: a guest's backups on every storage that takes them (time, size,
storage, mode, compression), newest first, and the backup operations: back up now,
restore one, delete one. It follows the guest's running task and reloads when a task
started here ends."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.widgets import DataTable, Static

from vmconsole.backends.backups import Backup
from vmconsole.backends.base import Task
from vmconsole.model import Guest
from vmconsole.text import visible
from vmconsole.ui import formatting as fmt
from vmconsole.ui.key_hints import keys_for
from vmconsole.ui.modals.task_panel import TaskPanel

KEYS_HINT = (("backups.take", "back up"), ("backups.restore", "restore"),
             ("backups.delete", "delete"), ("backups.close", "close"))
COLUMNS = ("Time", "Size", "Storage", "Mode", "Compr.")


class BackupOps(Protocol):
    """What the panel asks its opener to do (`ui.backup_flow.BackupFlows`); each change
    returns the task it started, or None when the user cancelled or was refused."""

    @property
    def may_change(self) -> bool:
        """Does this console's role and mode allow changes (else only looking)?"""
        ...

    def load(self) -> Awaitable[list[Backup] | None]: ...
    def take(self) -> Awaitable[Task | None]: ...
    def restore(self, backup: Backup) -> Awaitable[Task | None]: ...
    def delete(self, backup: Backup) -> Awaitable[Task | None]: ...


def backup_row(backup: Backup) -> tuple[Text, ...]:
    """One table row; every cell `Text` (a DataTable reads a str cell as markup)."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(backup.created))
    return (Text(when), Text(fmt.size(backup.size), justify="right"),
            Text(visible(backup.storage, limit=20)), Text(visible(backup.mode or "-")),
            Text(visible(backup.compression or "-")))


class BackupPanel(TaskPanel):
    WHAT, PREFIX, GROUP, KEYS_HINT = "Backups", "backup", "backups", KEYS_HINT
    INFO_AT_START = "reading the backups…"
    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="backups.close"),
        Binding("n", "take", "Back up now", id="backups.take"),
        Binding("r", "restore", "Restore", id="backups.restore"),
        Binding("x,delete", "delete", "Delete", id="backups.delete"),
    ]

    def __init__(self, guest: Guest, ops: BackupOps,
                 polled_tasks: Callable[[], Sequence[Task]]) -> None:
        super().__init__(guest, ops.may_change, polled_tasks)
        self.ops = ops
        self.backups: list[Backup] = []

    def list_widget(self) -> DataTable[Text]:
        table: DataTable[Text] = DataTable(id="backup-table", cursor_type="row",
                                           zebra_stripes=True)
        table.add_columns(*COLUMNS)
        return table

    async def reload(self) -> None:
        backups = await self.ops.load()
        if backups is not None:
            self.show_backups(backups)

    def show_backups(self, backups: list[Backup]) -> None:
        table = self.query_one(DataTable)
        selected = self.selected()
        self.backups = sorted(backups, key=lambda b: -b.created)
        table.clear()
        for backup in self.backups:
            table.add_row(*backup_row(backup), key=backup.id)
        if selected is not None and selected in self.backups:
            table.move_cursor(row=self.backups.index(selected))
        self._describe()

    def selected(self) -> Backup | None:
        table = self.query_one(DataTable)
        if not self.backups or not 0 <= table.cursor_row < len(self.backups):
            return None
        return self.backups[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _describe(self) -> None:
        backup = self.selected()
        info = self.query_one("#backup-info", Static)
        if backup is None:
            info.update("no backups" + (f"; press {keys_for(self, 'backups.take')} to "
                                        "back the guest up now" if self._may_change else ""))
            return
        count = len(self.backups)
        info.update(Text(f"{visible(backup.id)} ({count} backup{'s' if count != 1 else ''})"))

    # --- operations ---------------------------------------------------------------------

    def _on_selected(self, op: Callable[[Backup], Awaitable[Task | None]]) -> None:
        backup = self.selected()
        if backup is None:
            self.notify("choose a backup first", severity="warning")
            return
        self.start(op(backup))

    def action_take(self) -> None:
        self.start(self.ops.take())

    def action_restore(self) -> None:
        self._on_selected(self.ops.restore)

    def action_delete(self) -> None:
        self._on_selected(self.ops.delete)
