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
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from vmconsole.backends.backups import Backup
from vmconsole.backends.base import Task
from vmconsole.model import Guest
from vmconsole.text import visible
from vmconsole.ui import formatting as fmt
from vmconsole.ui.key_hints import hint_line, keys_for
from vmconsole.ui.labels import guest_title
from vmconsole.ui.worker_errors import ForwardsWorkerErrors

REFRESH_SECONDS = 0.5
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


class BackupPanel(ForwardsWorkerErrors, ModalScreen[None]):
    DEFAULT_CSS = """
    BackupPanel { align: center middle; }
    BackupPanel > Vertical {
        width: 100%; max-width: 110; height: 100%; max-height: 30;
        border: round $primary; border-title-color: $text; background: $surface;
        padding: 0 1;
    }
    BackupPanel DataTable { height: 1fr; }
    BackupPanel #backup-info { height: auto; color: $text-muted; }
    BackupPanel #backup-busy { height: auto; color: $warning; }
    BackupPanel #backup-keys { height: 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="backups.close"),
        Binding("n", "take", "Back up now", id="backups.take"),
        Binding("r", "restore", "Restore", id="backups.restore"),
        Binding("x,delete", "delete", "Delete", id="backups.delete"),
    ]

    def __init__(self, guest: Guest, ops: BackupOps,
                 polled_tasks: Callable[[], Sequence[Task]]) -> None:
        super().__init__()
        self.guest = guest
        self.ops = ops
        self._polled_tasks = polled_tasks  # the cluster's tasks as last polled
        self._waiting: set[str] = set()  # ids of tasks started here, not yet seen ended
        self.backups: list[Backup] = []

    def compose(self) -> ComposeResult:
        with Vertical() as frame:
            frame.border_title = Content(f"Backups of {guest_title(self.guest)}")
            table: DataTable[Text] = DataTable(id="backup-table", cursor_type="row",
                                               zebra_stripes=True)
            table.add_columns(*COLUMNS)
            yield table
            yield Static("", id="backup-busy", markup=False)
            yield Static("reading the backups…", id="backup-info", markup=False)
            yield Static("", id="backup-keys", markup=False)

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        # A viewer or a read-only console is not offered what it would be refused.
        hints = KEYS_HINT if self.ops.may_change else KEYS_HINT[-1:]
        self.query_one("#backup-keys", Static).update(hint_line(self, hints))
        self._reload()
        self.set_interval(REFRESH_SECONDS, self._follow)

    def _reload(self) -> None:
        self.run_worker(self.reload(), group="backups", exclusive=True,
                        exit_on_error=False, name="Backups")

    async def reload(self) -> None:
        backups = await self.ops.load()
        if backups is not None:
            self.show_backups(backups)

    def _follow(self) -> None:
        """Show what runs on this guest; reload once a task started here has ended."""
        tasks = {t.id: t for t in self._polled_tasks()}
        running = [t for t in tasks.values() if t.target == self.guest.id and not t.status.done]
        busy = ""
        if running:
            task = running[-1]
            done = f" {task.progress:.0%}" if task.progress is not None else ""
            busy = f"running: {visible(task.operation)}{done} ({visible(task.id)})"
        self.query_one("#backup-busy", Static).update(Text(busy))
        ended = {i for i in self._waiting if i in tasks and tasks[i].status.done}
        if ended:
            self._waiting -= ended
            self._reload()

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
            info.update(f"no backups; press {keys_for(self, 'backups.take')} to back "
                        "the guest up now")
            return
        count = len(self.backups)
        info.update(Text(f"{visible(backup.id)} ({count} backup{'s' if count != 1 else ''})"))

    # --- operations ---------------------------------------------------------------------

    def _start(self, started: Awaitable[Task | None]) -> None:
        self.run_worker(self._after(started), group="backup-op", exclusive=True,
                        exit_on_error=False, name="Backups")

    async def _after(self, started: Awaitable[Task | None]) -> None:
        task = await started
        if task is not None:
            self._waiting.add(task.id)
            await self.reload()

    def _on_selected(self, op: Callable[[Backup], Awaitable[Task | None]]) -> None:
        backup = self.selected()
        if backup is None:
            self.notify("choose a backup first", severity="warning")
            return
        self._start(op(backup))

    def action_take(self) -> None:
        self._start(self.ops.take())

    def action_restore(self) -> None:
        self._on_selected(self.ops.restore)

    def action_delete(self) -> None:
        self._on_selected(self.ops.delete)
