"""What a remote backend (Proxmox, vCenter) keeps of its own doing: the tasks it started,
followed by a tracker of its API's, and its timeline of events.

`TrackedTasks` gives such a backend the `tasks`, `task`, `wait` and `events` of the
`Backend` protocol over its `_tracker` and `_journal`, so each backend writes only how
its API's tasks are followed (`proxmox.tasks`, `vcenter.tasks`).
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Protocol

from vmconsole.backends.abilities import ClusterEvent
from vmconsole.backends.base import NotFound, Task
from vmconsole.backends.event_kinds import EventKind
from vmconsole.text import visible

KEEP_EVENTS = 500  # the newest events kept; the poll loop reads them every poll


class EventJournal:
    """A backend's timeline: events numbered from 1 in the order they happened, the
    newest `KEEP_EVENTS` kept. Thread-safe (task threads and the poll add to it)."""

    def __init__(self) -> None:
        self._events: list[ClusterEvent] = []
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        # Standing warnings, kept apart from the events: the newest KEEP_EVENTS events
        # would push out one said at start.
        self.warnings: list[str] = []

    def warn_insecure_tls(self, cluster: str, peer: str) -> None:
        """Say, in the timeline and for as long as the backend lives, that TLS
        verification is off: `peer` names whose identity goes unchecked ("vCenter's")."""
        message = (f"{visible(cluster)}: TLS verification is OFF (verify_ssl = false): "
                   f"{peer} identity is not checked. Set ca_file or fingerprint.")
        self.warnings.append(message)
        self.add(EventKind.INSECURE_TLS, message)

    def add(self, kind: EventKind, message: str, node: str | None = None,
            guest: str | None = None) -> None:
        """Record an event now (epoch seconds)."""
        with self._lock:
            self._events.append(ClusterEvent(seq=next(self._seq), time=time.time(),
                                             kind=kind, message=message, node=node,
                                             guest=guest))
            del self._events[:-KEEP_EVENTS]

    def since(self, seq: int) -> list[ClusterEvent]:
        """The events numbered after `seq`, oldest first."""
        with self._lock:
            return [e for e in self._events if e.seq > seq]


class TaskTracking(Protocol):
    """A backend's tracker of the tasks it started (by the API's task id)."""

    def tasks(self) -> list[Task]: ...
    def get(self, task_id: str) -> Task | None: ...
    def wait(self, task_id: str, timeout: float) -> Task | None: ...


class TrackedTasks:
    """`tasks`, `task`, `wait` and `events` for a backend with a `_tracker` and a
    `_journal`."""

    _tracker: TaskTracking
    _journal: EventJournal

    def tasks(self) -> list[Task]:
        """The tasks this console started, as the task log lists them."""
        return self._tracker.tasks()

    def task(self, task_id: str) -> Task:
        """One task as it is now. Raises NotFound for a task the console did not start
        (or no longer keeps)."""
        task = self._tracker.get(task_id)
        if task is None:
            raise NotFound(f"no task {visible(task_id)}")
        return task

    def wait(self, task_id: str, timeout: float = 60.0) -> Task:
        """The task once it ended (or as it is after `timeout` seconds): for scripts and
        tests. Raises NotFound as `task`."""
        task = self._tracker.wait(task_id, timeout)
        if task is None:
            raise NotFound(f"no task {visible(task_id)}")
        return task

    def events(self, since: int = 0) -> list[ClusterEvent]:
        """The backend's events numbered after `since`."""
        return self._journal.since(since)

    @property
    def warnings(self) -> list[str]:
        """Standing warnings for the UI: TLS verification off."""
        return list(self._journal.warnings)


__all__ = ["KEEP_EVENTS", "EventJournal", "TaskTracking", "TrackedTasks"]
