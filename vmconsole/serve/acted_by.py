"""Who asked for each task, for the task log of a served class.

A served console acts on the cluster through the server's one connection, so the
backend writes the server's account as the user of every task (the simulator and a
Proxmox API token write `root@pam`): a class's task log read `root@pam` beside every
student's start. The backend's user stays, as the cluster logged it; the hub notes the
session user whose call started each task and hands it to every session with the task
(`Task.acted_by`). The audit log has it too, with the role and the SSH source."""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Iterable

from vmconsole.backends.base import Task

#: Tasks whose user is remembered, newest kept: a task log shows at most 500 rows.
KEPT = 1000


class ActedBy:
    """task id -> the session user who started it; thread-safe (calls run in worker
    threads, polls in the poll thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: OrderedDict[str, str] = OrderedDict()

    def note(self, task: Task, user: str) -> Task:
        """`user`'s call started `task`: remembered, and `task` with it."""
        with self._lock:
            self._users[task.id] = user
            self._users.move_to_end(task.id)
            while len(self._users) > KEPT:
                self._users.popitem(last=False)
        return dataclasses.replace(task, acted_by=user)

    def tell(self, tasks: Iterable[Task]) -> tuple[Task, ...]:
        """`tasks`, each started by a session with that session's user."""
        with self._lock:
            return tuple(dataclasses.replace(t, acted_by=user)
                         if (user := self._users.get(t.id)) and t.acted_by != user else t
                         for t in tasks)
