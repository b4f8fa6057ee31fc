"""The task log's place on the main screen (#tasks, a bottom panel). The log is hidden
at start, so it is made when first shown (`task_log`): its table (Textual's DataTable,
its stylesheet and its columns) is work the first screen does not show (issue 12).
Until then the slot keeps every poll's tasks (`RecentTasks`), so the log, once made,
shows what it would have shown from the start."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from textual.widget import Widget

from vmconsole.backends.base import Task
from vmconsole.ui.recent_tasks import RecentTasks
from vmconsole.ui.symbols import UNICODE, Symbols

if TYPE_CHECKING:
    from vmconsole.ui.widgets.task_log import TaskLog


class TaskSlot(Widget):
    """Give it every poll's tasks (`update_tasks`); `task_log()` makes the log inside it."""

    # The log's border is the slot's: drawn as the log's own was, tinted with its focus.
    DEFAULT_CSS = """
    TaskSlot { height: 10; border-top: solid $panel-lighten-2; background: $surface;
               &:focus-within { background-tint: $foreground 5%; } }
    """

    _log: TaskLog | None = None

    def __init__(self, symbols: Symbols = UNICODE, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._symbols = symbols  # the log's, when it is made
        self._recent = RecentTasks()
        # How a task's target reads (cluster, guest id -> "web1"); the app knows names.
        self.target_name: Callable[[str, str], str] = lambda cluster, target: target

    def update_tasks(self, cluster: str, tasks: Sequence[Task], now: float) -> None:
        """The latest state of a cluster's tasks; `now` is its backend's clock (epoch
        seconds). Drawn in the log once it is made, kept until then."""
        if self._log is None:
            self._recent.add(cluster, tasks, now)
        else:
            self._log.update_tasks(cluster, tasks, now)

    def task_log(self) -> TaskLog:
        """The log, made (and mounted) by the first call, with the tasks kept so far."""
        if self._log is None:
            from vmconsole.ui.widgets.task_log import TaskLog

            self._log = TaskLog(self._recent, self.target_name, self._symbols, id="task-log")
            self.mount(self._log)
        return self._log
