"""The task log, as in Proxmox's bottom panel: every operation with its state and progress.

Rows update by diff: a row's cells change only when its task did.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from vmconsole.backends.base import Task, TaskStatus
from vmconsole.text import visible
from vmconsole.ui import formatting as fmt
from vmconsole.ui.labels import LabelStyles

_COLUMNS = ("Started", "Cluster", "Node", "Target", "Operation", "User", "Duration", "Status")
MAX_ROWS = 200
# The longest name a cell shows: one hostile name must not push the Status column off
# an 80-column terminal (longer ones end in an ellipsis; Enter shows the task whole).
CELL_LIMIT = 24


def task_key(cluster: str, task: Task) -> str:
    return f"{cluster}\x00{task.id}"


class TaskLog(DataTable[str | Text]):
    """Tasks of every cluster, newest at the top. Enter opens a task's log."""

    DEFAULT_CSS = """
    TaskLog { height: 10; border-top: solid $panel-lighten-2; }
    """

    BINDINGS = [Binding("enter", "open_task", "Task log", id="tasks.open")]

    class Opened(Message):
        def __init__(self, cluster: str, task: Task) -> None:
            super().__init__()
            self.cluster, self.task = cluster, task

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._tasks: dict[str, tuple[str, Task]] = {}
        self._rows: dict[str, tuple[str | Text, ...]] = {}
        # How a task's target reads (cluster, guest id -> "web1"); the app knows names.
        self.target_name: Callable[[str, str], str] = lambda cluster, target: target

    def on_mount(self) -> None:
        for name in _COLUMNS:
            self.add_column(name, key=name)

    def update_tasks(self, cluster: str, tasks: tuple[Task, ...] | list[Task],
                     now: float) -> None:
        """Show the latest state of a cluster's tasks; `now` is the backend's clock."""
        styles = LabelStyles.from_variables(self.app.theme_variables)
        added = False
        with self.app.batch_update():
            for task in tasks[-MAX_ROWS:]:
                key = task_key(cluster, task)
                self._tasks[key] = (cluster, task)
                cells = self._cells(cluster, task, now, styles)
                old = self._rows.get(key)
                if old is None:
                    self.add_row(*cells, key=key)
                    added = True
                else:
                    for column, (before, after) in zip(_COLUMNS, zip(old, cells, strict=True),
                                                       strict=True):
                        if before != after:
                            self.update_cell(key, column, after)
                self._rows[key] = cells
            if added:  # only a new row can change the order
                self.sort("Started", reverse=True)

    def _cells(self, cluster: str, task: Task, now: float, styles: LabelStyles
               ) -> tuple[str | Text, ...]:
        """The row's cells: data as Text (a DataTable reads a str cell as markup); the
        start time stays a str, the column the log is sorted on."""
        started = time.strftime("%H:%M:%S", time.localtime(task.started))
        elapsed = task.duration if task.ended is not None else max(0.0, now - task.started)
        names = (cluster, task.node, self.target_name(cluster, task.target), task.operation,
                 task.user)
        return (started, *(Text(visible(n, CELL_LIMIT)) for n in names),
                Text(fmt.duration(elapsed)), status_text(task, styles))

    def running(self) -> int:
        return sum(1 for _, t in self._tasks.values() if not t.status.done)

    def action_open_task(self) -> None:
        if self.row_count == 0:
            return
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        if key in self._tasks:
            self.post_message(self.Opened(*self._tasks[key]))


def status_text(task: Task, styles: LabelStyles) -> Text:
    if task.status is TaskStatus.RUNNING:
        if task.progress is None:
            return Text("running…", style=styles.accent)
        # The figure first: on a narrow terminal the column is cut from the right.
        return Text(f"{task.progress * 100:3.0f}% {fmt.bar(task.progress, 10)}", styles.accent)
    if task.status is TaskStatus.ERROR:
        return Text(f"ERROR: {visible(task.error or 'failed', limit=None)}", style=styles.bad)
    if task.status is TaskStatus.WARNING:
        return Text("OK with warnings", style=styles.warn)
    return Text("OK", style=styles.ok)
