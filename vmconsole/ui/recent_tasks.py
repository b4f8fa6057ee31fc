"""The tasks the task log shows: every cluster's newest `MAX_ROWS` by start time, each in
its latest state. Kept from the first poll, whether or not the log has been drawn yet
(`ui/widgets/task_slot.py` makes the log when it is first shown)."""

from __future__ import annotations

from collections.abc import Sequence

from vmconsole.backends.base import Task

#: Tasks kept, the newest by start time over all clusters; older ones leave the log.
MAX_ROWS = 500


def task_key(cluster: str, task: Task) -> str:
    """A task's row key, unique over clusters (task ids are only unique in one)."""
    return f"{cluster}\x00{task.id}"


class RecentTasks:
    """`tasks`: task key -> (cluster, task); `now`: each cluster's clock (epoch seconds)
    at its last update. A plain class: it is made at every start, and a dataclass costs
    the start its generated methods' compiling (docs/architecture.md, "The first screen")."""

    __slots__ = ("now", "tasks")

    def __init__(self) -> None:
        self.tasks: dict[str, tuple[str, Task]] = {}
        self.now: dict[str, float] = {}

    def add(self, cluster: str, tasks: Sequence[Task], now: float
            ) -> tuple[list[str], bool, list[str]]:
        """Keep the latest state of a cluster's `tasks`, `now` being its backend's clock.
        Returns their keys, whether any of them is new, and the keys of the oldest tasks
        that left to keep `MAX_ROWS` (only when one is new)."""
        self.now[cluster] = now
        keys = [task_key(cluster, task) for task in tasks]
        added = any(key not in self.tasks for key in keys)
        for key, task in zip(keys, tasks, strict=True):
            self.tasks[key] = (cluster, task)
        if not added or len(self.tasks) <= MAX_ROWS:
            return keys, added, []
        newest = sorted(self.tasks, key=lambda k: self.tasks[k][1].started, reverse=True)
        for key in newest[MAX_ROWS:]:
            del self.tasks[key]
        return keys, added, newest[MAX_ROWS:]
