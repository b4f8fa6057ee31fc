"""Where the HA manager's decisions go: the audit log (one record each, with its reason),
the daemon's own output (one line each), and the status file's newest decisions and
tasks (the console's events pane and task log)."""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace

from vmconsole.audit import AuditLog, AuditRecord
from vmconsole.ha.status import Decision, ManagerTask
from vmconsole.text import visible_lines
from vmconsole.wallclock import clock_time

#: The status file keeps this many decisions and tasks (the audit log keeps them all).
KEPT_DECISIONS = 200
KEPT_TASKS = 100
USER = "ha-manager"


class Journal:
    """Records decisions and tasks. `say` prints one line (the daemon's output)."""

    def __init__(self, cluster: str, audit: AuditLog, say: Callable[[str], None],
                 clock: Callable[[], float] = time.time) -> None:
        self.cluster, self.audit, self.say, self.clock = cluster, audit, say, clock
        self.decisions: deque[Decision] = deque(maxlen=KEPT_DECISIONS)
        self.tasks: deque[ManagerTask] = deque(maxlen=KEPT_TASKS)
        self._ids = itertools.count(1)
        self._started = int(clock())

    def decide(self, kind: str, message: str, node: str | None = None,
               guest: str | None = None, result: str = "decided") -> Decision:
        """One decision: audited (operation `ha_<kind>`, the message as its reason),
        printed, and kept for the status file."""
        decision = Decision(self.clock(), kind, message, node, guest)
        self.decisions.append(decision)
        self.audit.append(AuditRecord(user=USER, role="system", source="local",
                                      cluster=self.cluster, target=guest or node or "",
                                      operation=f"ha_{kind}", result=result,
                                      parameters={"reason": message}, time=decision.time))
        self.say(visible_lines(f"{clock_time(decision.time)} {message}"))
        return decision

    def task(self, operation: str, target: str, node: str, line: str) -> ManagerTask:
        """A task begins (shown running in the console's task log)."""
        task = ManagerTask(f"ha-{self._started}-{next(self._ids)}", operation, target, node,
                           self.clock(), log=(f"{clock_time(self.clock())} {line}",))
        self.tasks.append(task)
        return task

    def finish(self, task: ManagerTask, ok: bool, line: str) -> ManagerTask:
        """A task ends, with its last log line (or its error)."""
        done = replace(task, ended=self.clock(), ok=ok,
                       log=(*task.log, f"{clock_time(self.clock())} {line}"),
                       error=None if ok else line)
        self.tasks = deque((done if t.id == task.id else t for t in self.tasks),
                           maxlen=KEPT_TASKS)
        return done
