"""The task log, as in Proxmox's bottom panel: every operation with its state and progress.

Rows update by diff: a row's cells change only when its task did. Rows are ordered by
the tasks' real start times (not the "HH:MM:SS" shown, which runs back at midnight),
and the log keeps the newest `MAX_ROWS` tasks of all clusters (`RecentTasks`). Names are
cut to fit, so the Status column stays on an 80-column screen whatever the names; the
Cluster column shows once the log holds tasks of two clusters (with one it says the
same on every row, and its room lets a served class's "teacher (root@pam)" show
whole). The log is made when first shown (`TaskSlot`): this module is not imported
before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from vmconsole.backends.base import Task, TaskStatus
from vmconsole.text import visible
from vmconsole.ui import formatting as fmt
from vmconsole.ui.messages import TaskOpened
from vmconsole.ui.recent_tasks import RecentTasks
from vmconsole.ui.styles import LabelStyles
from vmconsole.ui.symbols import UNICODE, Symbols
from vmconsole.ui.table_fit import cut, fit_widths

_COLUMNS = ("Started", "Cluster", "Node", "Target", "Operation", "User", "Duration", "Status")
#: The columns that show names, cut with an ellipsis when the screen is too narrow.
_NAMES = ("Cluster", "Node", "Target", "Operation", "User")
#: The longest name of who asked a task that the console shows whole (`task_user`): an SSH
#: user name may be 128 characters, and the account after it must still show.
ACTED_BY_LIMIT = 32
_STARTED_WIDTH = 8  # HH:MM:SS
_DURATION_WIDTH = 8  # its header; values are shorter: "59m 59s", "23h 59m"
_STATUS_ROOM = 10  # " 50% █████", "ERROR: di…": the figure, the start of a reason
_LEAST_SCREEN = 80  # the width fitted for before the log is laid out


class Started(str):
    """The Started cell: shows the local "HH:MM:SS", sorts by `at` (epoch seconds)."""

    at: float

    def __new__(cls, at: float) -> Started:
        cell = super().__new__(cls, time.strftime("%H:%M:%S", time.localtime(at)))
        cell.at = at
        return cell


def _by_start(cell: Started) -> float:
    return cell.at


class TaskLog(DataTable[str | Text]):
    """Tasks of every cluster, newest at the top. Enter opens a task's log."""

    DEFAULT_CSS = """
    TaskLog { height: 1fr; }
    """

    BINDINGS = [Binding("enter", "open_task", "Task log", id="tasks.open")]

    def __init__(self, recent: RecentTasks, target_name: Callable[[str, str], str],
                 symbols: Symbols = UNICODE, **kwargs: object) -> None:
        """`recent`: the tasks to show, kept before the log was made; `target_name`:
        how a task's target reads (cluster, guest id -> "web1"): the app knows names;
        `symbols`: the end of a cut name (`Symbols.cut`)."""
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._cut_mark = symbols.cut
        self._recent = recent
        self._tasks = recent.tasks
        self._rows: dict[str, tuple[str | Text, ...]] = {}
        self._widths: dict[str, int] = {}  # of the name columns shown, in cells
        self._wanted: tuple[int, ...] = ()  # their longest names when last fitted
        self.target_name = target_name

    def on_mount(self) -> None:
        self._rebuild(self._fit())

    def update_tasks(self, cluster: str, tasks: Sequence[Task], now: float) -> None:
        """Show the latest state of a cluster's tasks; `now` is the backend's clock
        (epoch seconds). Beyond the newest `MAX_ROWS` tasks by start, the oldest leave."""
        keys, added, gone = self._recent.add(cluster, tasks, now)
        if not self.is_mounted:
            return  # made, not yet mounted (TaskSlot.task_log): on_mount shows them all
        with self.app.batch_update():
            if not added:
                # A task's names may grow: a served class's "teacher (root@pam)" is told
                # after the poll that brought the task as root@pam's.
                if self._show(keys):
                    self._refit()
                return
            for key in gone:
                if self._rows.pop(key, None) is not None:
                    self.remove_row(key)
            widths = self._fit()  # a new row may bring a longer name
            if widths != self._widths:
                self._rebuild(widths)
            else:
                self._show(keys)
                self.sort("Started", key=_by_start, reverse=True)  # new rows change the order

    def _show(self, keys: list[str] | None) -> bool:
        """Add or update the rows of `keys` (None: every task), cell by cell. True when
        a name shown is longer than the longest its column was fitted for."""
        styles = LabelStyles.from_variables(self.app.theme_variables)
        columns = self._columns()
        grew = False
        for key in self._tasks if keys is None else keys:
            if key not in self._tasks:
                continue  # left the log in this very update
            cluster, task = self._tasks[key]
            names = self._names(cluster, task)
            grew = grew or any(cell_len(name) > longest
                               for name, longest in zip(names, self._wanted, strict=True))
            cells = self._cells(cluster, task, names, styles)
            old = self._rows.get(key)
            if old is None:
                self.add_row(*cells, key=key)
            else:
                for column, before, after in zip(columns, old, cells, strict=True):
                    if before != after:
                        self.update_cell(key, column, after)
            self._rows[key] = cells
        return grew

    def _names(self, cluster: str, task: Task) -> tuple[str, ...]:
        return tuple(visible(name, None) for name in (
            cluster, task.node, self.target_name(cluster, task.target), task.operation,
            task_user(task)))

    def _fit(self) -> dict[str, int]:
        """The name columns shown (Cluster only for tasks of two clusters or more) and
        their widths in cells: what their longest names want (kept, for `_show` to see
        a name outgrow them), within what the screen leaves beside Started, Duration
        and the start of Status."""
        wanted = [len(header) for header in _NAMES]
        clusters = set()
        for cluster, task in self._tasks.values():
            clusters.add(cluster)
            for i, name in enumerate(self._names(cluster, task)):
                wanted[i] = max(wanted[i], cell_len(name))
        self._wanted = tuple(wanted)
        shown = [i for i, column in enumerate(_NAMES)
                 if column != "Cluster" or len(clusters) > 1]
        padding = 2 * self.cell_padding * (len(_COLUMNS) - len(_NAMES) + len(shown))
        room = ((self.size.width or _LEAST_SCREEN) - self.styles.scrollbar_size_vertical
                - padding - _STARTED_WIDTH - _DURATION_WIDTH - _STATUS_ROOM)
        widths = fit_widths([wanted[i] for i in shown], room)
        return {_NAMES[i]: width for i, width in zip(shown, widths, strict=True)}

    def on_resize(self) -> None:
        with self.app.batch_update():
            self._refit()

    def _refit(self) -> None:
        widths = self._fit()
        if widths != self._widths:
            self._rebuild(widths)

    def _rebuild(self, widths: dict[str, int]) -> None:
        """Every row again, with the name columns of `widths` that wide (a DataTable
        column never narrows by itself), newest first, the cursor kept on its task."""
        at = self._cursor_key()
        self._widths = widths
        self.clear(columns=True)
        for name in self._columns():
            self.add_column(name, key=name, width=widths.get(name))
        self._rows.clear()
        self._show(None)
        self.sort("Started", key=_by_start, reverse=True)
        if at is not None:
            self.call_after_refresh(self._move_to, at)

    def _columns(self) -> list[str]:
        """The columns shown: all but a name column left out (`_fit`)."""
        return [c for c in _COLUMNS if c in self._widths or c not in _NAMES]

    def _cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def _move_to(self, key: str) -> None:
        if key in self._rows:
            self.move_cursor(row=self.get_row_index(key))

    def _cells(self, cluster: str, task: Task, names: tuple[str, ...], styles: LabelStyles
               ) -> tuple[str | Text, ...]:
        elapsed = (task.duration if task.ended is not None
                   else max(0.0, self._recent.now.get(cluster, task.started) - task.started))
        cells = [cut(name, self._widths[column], self._cut_mark)
                 for column, name in zip(_NAMES, names, strict=True) if column in self._widths]
        return (Started(task.started), *cells, fmt.duration(elapsed),
                status_text(task, styles))

    def running(self) -> int:
        return sum(1 for _, t in self._tasks.values() if not t.status.done)

    def action_open_task(self) -> None:
        key = self._cursor_key()
        if key in self._tasks:
            self.post_message(TaskOpened(*self._tasks[key]))


def task_user(task: Task) -> str:
    """A task's user as the console shows it: the account the cluster logged, and who
    asked when that was someone else through it ("student (root@pam)" in a served
    class, `Task.acted_by`). The one who asked is cut to ACTED_BY_LIMIT characters so
    that a long SSH user name never hides the account; the rest is not made visible:
    the caller does."""
    if task.acted_by and task.acted_by != task.user:
        return f"{visible(task.acted_by, ACTED_BY_LIMIT)} ({task.user})"
    return task.user


def status_text(task: Task, styles: LabelStyles) -> Text:
    if task.status is TaskStatus.RUNNING:
        if task.progress is None:
            return Text("running…", style=styles.accent)
        # The figure first: on a narrow terminal the column is cut from the right.
        return Text(f"{task.progress * 100:3.0f}% {fmt.bar(task.progress, 10)}", styles.accent)
    if task.status is TaskStatus.ERROR:
        return Text(f"ERROR: {visible(task.error or 'failed', None)}", style=styles.bad)
    if task.status is TaskStatus.WARNING:
        return Text("OK with warnings", style=styles.warn)
    return Text("OK", style=styles.ok)
