"""vSphere tasks, followed to their end in background threads.

An operation on vCenter answers a `Task` managed object at once; its `info` (vSphere API
reference, `TaskInfo`) says `state` (queued, running, success, error), `progress` in
percent while running, `result` (a clone's new VM) and `error` (a fault). Each is read
with one PropertyCollector call per look, every 0.2 s at first and then less often.
Operations that vSphere does not run as tasks (a guest shutdown, marking a template)
are recorded here as tasks of the console's own, with the same shape.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from pyVmomi import vim, vmodl

from vmconsole.backends.base import BackendError, Task, TaskStatus, Unreachable
from vmconsole.backends.vcenter.errors import describe
from vmconsole.backends.vcenter.properties import retrieve_objects
from vmconsole.text import visible

log = logging.getLogger(__name__)

_FOLLOW_MIN, _FOLLOW_MAX = 0.2, 2.0
_GIVE_UP_AFTER = 5  # consecutive failures to read a task (other than vCenter down)
_KEEP = 500  # finished tasks kept for the task log


class TaskTracker:
    """Tasks this console started, by id (vSphere's task id, e.g. "task-301")."""

    def __init__(self, call: Callable[[str, Callable[[Any], Any]], Any], user: str,
                 on_finish: Callable[[Task], None] | None = None) -> None:
        self._call = call  # Session.call
        self._user = user
        self._on_finish = on_finish
        self._tasks: dict[str, Task] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._local = itertools.count(1)

    def follow(self, ref: Any, operation: str, target: str, node: str,
               result: Mapping[str, object] | None = None,
               on_success: Callable[[Any], Mapping[str, object]] | None = None) -> Task:
        """Record a vSphere task the console just started and follow it in a thread.

        `on_success(info.result)` may add to the task's result (a clone's new id)."""
        task_id = str(ref._moId)
        task = Task(id=task_id, operation=operation, target=target, node=node,
                    user=self._user, started=time.time(), result=dict(result or {}),
                    log=(f"{operation} {target}: vSphere task {task_id}",))
        with self._lock:
            self._tasks[task_id] = task
        self._spawn(self._guarded, (task_id, self._follow, ref, on_success), f"vc-{operation}")
        return task

    def local(self, operation: str, target: str, node: str,
              work: Callable[[Callable[[str, float | None], None]], Mapping[str, object]],
              ) -> Task:
        """A task of the console's own: `work(report)` runs in a thread, calls
        `report(line, progress)` as it goes and returns the result; a BackendError it
        raises ends the task with that error."""
        task_id = f"vmconsole-{operation}-{next(self._local)}"
        task = Task(id=task_id, operation=operation, target=target, node=node,
                    user=self._user, started=time.time())
        with self._lock:
            self._tasks[task_id] = task

        def report(line: str, progress: float | None) -> None:
            with self._lock:
                now = self._tasks[task_id]
                self._tasks[task_id] = replace(now, log=(*now.log, line),
                                               progress=progress if progress is not None
                                               else now.progress)

        def run() -> None:
            try:
                result = work(report)
            except BackendError as exc:
                self._end(task_id, TaskStatus.ERROR, exc.message)
                return
            self._end(task_id, TaskStatus.OK, None, result)

        self._spawn(self._guarded, (task_id, run), f"vc-{operation}")
        return task

    def get(self, task_id: str) -> Task | None:
        with self._lock:
            return self._tasks.get(task_id)

    def tasks(self) -> list[Task]:
        """Every task this console started, oldest first."""
        with self._lock:
            return sorted(self._tasks.values(), key=lambda t: (t.started, t.id))

    def wait(self, task_id: str, timeout: float) -> Task | None:
        """The task once it ended, or as it is after `timeout` seconds (tests, scripts)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task = self.get(task_id)
            if task is None or task.status.done:
                return task
            time.sleep(0.05)
        return self.get(task_id)

    def close(self) -> None:
        self._closed.set()
        for thread in self._threads:
            thread.join(timeout=2.0)

    # --- following --------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], args: tuple[Any, ...], name: str) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name=name)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _guarded(self, task_id: str, work: Callable[..., None], *args: Any) -> None:
        """`work(*args)`; whatever it raises ends the task with the reason, never silently
        (a server's answer that pyvmomi cannot read, say)."""
        try:
            work(*args)
        except Exception as exc:
            log.exception("following task %s failed", task_id)
            self._end(task_id, TaskStatus.ERROR,
                      f"could not follow the task: {visible(exc, None)}")

    def _follow(self, ref: Any, on_success: Callable[[Any], Mapping[str, object]] | None
                ) -> None:
        task_id = str(ref._moId)
        delay, failures = _FOLLOW_MIN, 0
        while not self._closed.is_set():
            try:
                info = self._call(f"read task {task_id}", lambda content: _info(content, ref))
                failures = 0
            except Unreachable as exc:
                self._note(task_id, f"(status unavailable: {exc.message})", None)
                delay = min(delay * 2, 10.0)
            except BackendError as exc:
                failures += 1
                if failures >= _GIVE_UP_AFTER:
                    self._end(task_id, TaskStatus.ERROR,
                              f"could not follow the task: {exc.message}")
                    return
            else:
                state = info.state
                if state == "success":
                    extra = on_success(info.result) if on_success else {}
                    self._end(task_id, TaskStatus.OK, None, extra)
                    return
                if state == "error":
                    # pyvmomi gives TaskInfo.error as the fault itself (its msg
                    # holding LocalizedMethodFault's localizedMessage).
                    fault = info.error if isinstance(info.error, vmodl.MethodFault) else (
                        getattr(info.error, "fault", None))
                    text = describe(fault) if fault is not None else visible(
                        getattr(info.error, "localizedMessage", "") or "failed", None)
                    self._end(task_id, TaskStatus.ERROR, text)
                    return
                progress = info.progress
                self._note(task_id, f"{state} {progress}%" if progress is not None else state,
                           progress / 100 if progress is not None else None)
                delay = min(delay * 1.5, _FOLLOW_MAX)
            self._closed.wait(delay)

    def _note(self, task_id: str, line: str, progress: float | None) -> None:
        with self._lock:
            task = self._tasks[task_id]
            lines = task.log if task.log and task.log[-1] == line else (*task.log, line)
            self._tasks[task_id] = replace(task, log=lines, progress=progress
                                           if progress is not None else task.progress)

    def _end(self, task_id: str, status: TaskStatus, error: str | None,
             result: Mapping[str, object] | None = None) -> None:
        with self._lock:
            task = self._tasks[task_id]
            line = "done" if status is TaskStatus.OK else f"error: {error}"
            task = self._tasks[task_id] = replace(
                task, status=status, ended=time.time(), error=error, log=(*task.log, line),
                progress=1.0 if status is TaskStatus.OK else task.progress,
                result={**task.result, **(result or {})})
            ended = [t for t in self._tasks.values() if t.status.done]
            for old in sorted(ended, key=lambda t: t.started)[:-_KEEP]:
                del self._tasks[old.id]
        if self._on_finish is not None:
            self._on_finish(task)


# Only what following needs: the whole `info` also carries `entity`, which vcsim sets to
# a snapshot for a revert (not a ManagedEntity), and pyvmomi refuses to read that.
_INFO_PATHS = ("info.state", "info.progress", "info.error", "info.result")


@dataclass(frozen=True, slots=True)
class _Info:
    state: str
    progress: int | None
    error: Any
    result: Any


def _info(content: Any, ref: Any) -> _Info:
    # Bound to this session's stub: the session may have been renewed since the start.
    here = vim.Task(ref._moId, content.rootFolder._stub)
    found = retrieve_objects(content, [here], {vim.Task: _INFO_PATHS})
    if not found:
        raise BackendError(f"vCenter no longer knows task {ref._moId}")
    task = found[0]
    return _Info(str(task.get("info.state", "")), task.get("info.progress"),
                 task.get("info.error"), task.get("info.result"))


__all__ = ["TaskTracker"]
