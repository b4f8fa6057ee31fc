"""The end of every task an operation started, in the audit log: the start is written
by the console that asked for it; the end is seen by the poll loop, which outlives any
one console (a served session may end while its migration runs)."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterable

from vmconsole.audit import AuditLog, AuditRecord
from vmconsole.backends.base import Task, TaskStatus

log = logging.getLogger(__name__)


class TaskEnds:
    """Tasks being watched for their end; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watching: dict[str, tuple[AuditRecord, AuditLog]] = {}

    def watch(self, started: AuditRecord, audit: AuditLog) -> None:
        """Write the end of `started`'s task (by its task_id) to `audit` when a poll
        shows it done. A record without a task id is ignored."""
        if started.task_id:
            with self._lock:
                self._watching[started.task_id] = (started, audit)

    @property
    def watching(self) -> int:
        with self._lock:
            return len(self._watching)

    def check(self, tasks: Iterable[Task]) -> None:
        """Write an end record for each watched task that `tasks` (a poll's) shows done:
        result "ok", "warning: ...", or "error: <the backend's message>"."""
        with self._lock:
            ended = [(task, self._watching.pop(task.id)) for task in tasks
                     if task.status.done and task.id in self._watching]
        for task, (started, audit) in ended:
            result = str(task.status) if task.status is TaskStatus.OK else (
                f"{task.status}: {task.error or (task.log[-1] if task.log else 'no message')}")
            try:
                audit.append(dataclasses.replace(started, result=result, time=time.time()))
            except OSError as exc:
                log.error("audit log not written (end of task %s): %s", task.id, exc)
