"""Messages that cross from worker threads to the app, and those the app hears from
widgets it makes late (`TaskOpened`: the task log is made when first shown)."""

from __future__ import annotations

from textual.message import Message

from vmconsole.backends.base import Task
from vmconsole.monitor.poller import PollResult


class ClusterPolled(Message):
    """A poll of one cluster finished (posted from the poll thread).

    Never replaced by a newer one: each carries the diff from its predecessor, and the
    tree must see every diff to stay right.
    """

    def __init__(self, result: PollResult) -> None:
        super().__init__()
        self.result = result


class OperationStarted(Message):
    def __init__(self, cluster: str, description: str, task: Task) -> None:
        super().__init__()
        self.cluster, self.description, self.task = cluster, description, task


class TaskOpened(Message):
    """Enter on a task in the task log: open its detail."""

    def __init__(self, cluster: str, task: Task) -> None:
        super().__init__()
        self.cluster, self.task = cluster, task


class OperationFailed(Message):
    def __init__(self, cluster: str, description: str, reason: str) -> None:
        super().__init__()
        self.cluster, self.description, self.reason = cluster, description, reason
