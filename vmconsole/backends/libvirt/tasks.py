"""Background tasks: each operation runs on its own thread and reports here.

A guest with a running task is locked: a second operation on it is refused with the
name of the task that holds it.
"""

from __future__ import annotations

import getpass
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace

from vmconsole.backends.base import BackendError, Conflict, NotFound, Task, TaskStatus

KEEP_TASKS = 200


class TaskContext:
    """What a running operation uses to report: log lines, progress and its result."""

    def __init__(self, book: TaskBook, task_id: str) -> None:
        self._book, self.task_id = book, task_id
        self.result: dict[str, object] = {}
        self.warning = False

    def log(self, line: str) -> None:
        self._book._update(self.task_id, lambda t: replace(t, log=(*t.log, line)))

    def progress(self, fraction: float) -> None:
        value = min(1.0, max(0.0, fraction))
        self._book._update(self.task_id, lambda t: replace(t, progress=value))


Work = Callable[[TaskContext], None]


class TaskBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[str, Task] = {}
        self._order: deque[str] = deque()
        self._locks: dict[str, str] = {}  # guest id -> task id
        self._ids = itertools.count(1)
        self._user = getpass.getuser()

    def locks(self) -> dict[str, str]:
        """Every held guest id with the operation holding it, for a whole poll at once."""
        with self._lock:
            return {guest_id: self._tasks[task_id].operation
                    for guest_id, task_id in self._locks.items()}

    def run(self, operation: str, target: str, node: str, work: Work,
            lock: tuple[str, ...] = (), on_done: Callable[[Task], None] | None = None) -> Task:
        """Start `work` on a thread and return its task at once. `lock` names the
        guests it holds until it ends."""
        with self._lock:
            for guest_id in lock:
                if holder := self._locks.get(guest_id):
                    held = self._tasks[holder]
                    raise Conflict(f"{guest_id} is locked by a running {held.operation} "
                                   f"task ({held.id}, started by {held.user})")
            task = Task(id=f"task-{next(self._ids)}", operation=operation, target=target,
                        node=node, user=self._user, started=time.time(), progress=0.0)
            self._tasks[task.id] = task
            self._order.append(task.id)
            for guest_id in lock:
                self._locks[guest_id] = task.id
            while len(self._order) > KEEP_TASKS:
                old = self._order[0]
                if not self._tasks[old].status.done:
                    break
                self._order.popleft()
                del self._tasks[old]
        thread = threading.Thread(target=self._execute, args=(task.id, work, lock, on_done),
                                  name=f"{operation}-{task.id}", daemon=True)
        thread.start()
        return task

    def _execute(self, task_id: str, work: Work, lock: tuple[str, ...],
                 on_done: Callable[[Task], None] | None) -> None:
        ctx = TaskContext(self, task_id)
        status, error = TaskStatus.OK, None
        try:
            work(ctx)
            if ctx.warning:
                status = TaskStatus.WARNING
        except BackendError as exc:
            status, error = TaskStatus.ERROR, exc.message
        except Exception as exc:  # a bug must still end the task, with its words
            status, error = TaskStatus.ERROR, f"{type(exc).__name__}: {exc}"
        if error:
            ctx.log(f"ERROR: {error}")
        with self._lock:
            for guest_id in lock:
                if self._locks.get(guest_id) == task_id:
                    del self._locks[guest_id]
            task = self._tasks[task_id] = replace(
                self._tasks[task_id], status=status, ended=time.time(), error=error,
                result=dict(ctx.result),
                progress=1.0 if status is not TaskStatus.ERROR else self._tasks[task_id].progress)
        if on_done is not None:
            on_done(task)

    def _update(self, task_id: str, change: Callable[[Task], Task]) -> None:
        with self._lock:
            self._tasks[task_id] = change(self._tasks[task_id])

    def all(self) -> list[Task]:
        with self._lock:
            return [self._tasks[i] for i in self._order]

    def get(self, task_id: str) -> Task:
        with self._lock:
            if task_id not in self._tasks:
                raise NotFound(f"no task {task_id}")
            return self._tasks[task_id]
