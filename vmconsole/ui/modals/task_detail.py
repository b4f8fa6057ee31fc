"""A task's detail (Enter on a task log row): its state, progress while it runs, the
error when it failed, its result (a migration's downtime, a clone's new id) and its log
lines, following the task as the polls bring news of it."""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from vmconsole.backends.base import Task, TaskStatus
from vmconsole.text import visible, visible_lines
from vmconsole.ui import formatting as fmt
from vmconsole.ui.modals.dialog import Dialog
from vmconsole.ui.modals.moving_keys import ScrolledText
from vmconsole.ui.styles import LabelStyles
from vmconsole.ui.widgets.task_log import status_text, task_user
from vmconsole.wallclock import date_time

# The task as last polled, and the backend's clock then (None: gone from the backend).
TaskLookup = Callable[[], tuple[Task | None, float]]
# What the ping monitor measured while the task (as last polled) ran (None: it did not
# watch it).
Measurement = Callable[[Task], str | None]
REFRESH_SECONDS = 0.5


def result_rows(result: dict[str, object]) -> list[tuple[Text, Text]]:
    """A task's result for people: "downtime_ms" reads as "Downtime  180 ms". Keys and
    values come from the backend: Text, made visible (a Rich Table reads a str as
    markup)."""
    rows = []
    for key, value in result.items():
        label = key.replace("_", " ").capitalize()
        if key.endswith("_ms") and isinstance(value, int | float):
            label, shown = label[: -len(" ms")], f"{value:.0f} ms"
        elif key.endswith("_bytes") and isinstance(value, int | float):
            label, shown = label[: -len(" bytes")], fmt.size(value)
        elif key.endswith("_mib") and isinstance(value, int | float):
            label, shown = label[: -len(" mib")], fmt.size(value * 2**20)
        else:
            shown = str(value)
        rows.append((Text(visible(label)), Text(visible(shown, limit=None))))
    return rows


class TaskDetailScreen(Dialog[None]):
    DEFAULT_CSS = """
    TaskDetailScreen { align: center middle; }
    TaskDetailScreen > Vertical {
        width: 90%; max-width: 110; height: 90%;
        border: round $primary; border-title-color: $text; background: $surface;
        padding: 0 1;
    }
    TaskDetailScreen #summary { height: auto; }
    TaskDetailScreen #log { height: 1fr; border-top: solid $panel-lighten-2; }
    """
    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close", id="task.close")]

    def __init__(self, cluster: str, task: Task, lookup: TaskLookup,
                 target_name: str | None = None, measured: Measurement | None = None
                 ) -> None:
        super().__init__()
        self._measured = measured or (lambda task: None)
        self.cluster = cluster
        target = visible(task.target)
        self.target_text = f"{visible(target_name)} ({target})" if target_name else target
        self.shown_task = task
        self._lookup = lookup
        self._shown: tuple[object, ...] = ()

    def compose(self) -> ComposeResult:
        with Vertical() as frame:
            frame.border_title = Content(
                f"Task: {visible(self.shown_task.operation)} {self.target_text}")
            yield Static(id="summary")
            with ScrolledText(id="log"):
                yield Static(id="lines", markup=False)

    def on_mount(self) -> None:
        self._show(self.shown_task, self.shown_task.started if self.shown_task.ended is None
                     else self.shown_task.ended)
        self.set_interval(REFRESH_SECONDS, self._follow)

    def _follow(self) -> None:
        task, now = self._lookup()
        if task is not None:
            self._show(task, now)

    def _show(self, task: Task, now: float) -> None:
        measured = self._measured(task)
        key = (task.status, task.progress, len(task.log), task.ended, int(now), measured)
        if key == self._shown:
            return
        new_lines = not self._shown or self._shown[2] != len(task.log)
        self._shown = key
        self.shown_task = task
        styles = LabelStyles.from_variables(self.app.theme_variables)
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        elapsed = task.duration if task.ended is not None else max(0.0, now - task.started)
        rows: list[tuple[str | Text, str | Text]] = [
            ("Task", Text(visible(task.id))),
            ("Target", Text(f"{self.target_text} on {visible(task.node)}, "
                            f"cluster {visible(self.cluster)}")),
            ("User", Text(visible(task_user(task)))),
            ("Started", date_time(task.started)),
            ("Duration", fmt.duration(elapsed)),
            ("Status", status_text(task, styles)),
        ]
        if task.status is TaskStatus.RUNNING and task.progress is not None:
            rows.append(("Progress", Text(f"{fmt.bar(task.progress, 30)} "
                                          f"{task.progress * 100:.0f}%", styles.accent)))
        if task.error:
            rows.append(("Error", Text(visible_lines(task.error), styles.bad)))
        rows += result_rows(task.result)
        if measured is not None:
            rows.append(("Measured (ping)", Text(measured)))
        for label, value in rows:
            table.add_row(label, value)
        self.query_one("#summary", Static).update(table)
        self.query_one("#lines", Static).update(
            Content(visible_lines("\n".join(task.log)) or "(no log lines yet)"))
        if new_lines:  # the latest lines, as `tail -f` would show them
            self.query_one("#log", ScrolledText).scroll_end(animate=False)
