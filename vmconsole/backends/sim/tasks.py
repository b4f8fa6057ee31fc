"""Tasks as the Proxmox task log shows them: a UPID, log lines, progress, a result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from vmconsole.backends.base import Task, TaskStatus

USER = "root@pam"

# The task type Proxmox writes into the UPID for each operation.
_UPID_TYPES = {
    "start": "qmstart", "shutdown": "qmshutdown", "stop": "qmstop", "reboot": "qmreboot",
    "clone": "qmclone", "template": "qmtemplate", "snapshot": "qmsnapshot",
    "rollback": "qmrollback", "delsnapshot": "qmdelsnapshot", "migrate": "qmigrate",
    "ha": "hamanage", "ha-remove": "hamanage",
}


@dataclass(slots=True)
class TaskRecord:
    id: str
    operation: str
    target: str
    node: str
    started: float
    status: TaskStatus = TaskStatus.RUNNING
    ended: float | None = None
    log: list[str] = field(default_factory=list)
    error: str | None = None
    result: dict[str, object] = field(default_factory=dict)
    # Progress of a running task as a function of simulated time (None: unknown).
    progress_at: Callable[[float], float] | None = None
    # Ends the task early when another operation overrules it (a stop over a shutdown).
    cancel: Callable[[], None] | None = None
    then: Callable[[TaskRecord], None] | None = None  # called once the task has ended

    def to_task(self, now: float) -> Task:
        if self.status.done:
            progress: float | None = 1.0
        elif self.progress_at is None:
            progress = None
        else:
            progress = min(1.0, max(0.0, self.progress_at(now)))
        return Task(
            id=self.id, operation=self.operation, target=self.target, node=self.node,
            user=USER, started=self.started, status=self.status, ended=self.ended,
            progress=progress, log=tuple(self.log), error=self.error,
            result=dict(self.result),
        )

    def finish(self, now: float, status: TaskStatus = TaskStatus.OK,
               error: str | None = None) -> None:
        self.status, self.ended, self.error = status, now, error
        self.log.append(f"TASK ERROR: {error}" if error else
                        "TASK WARNINGS" if status is TaskStatus.WARNING else "TASK OK")
        if self.then is not None:
            self.then(self)


def make_upid(node: str, serial: int, started: float, operation: str, target: str) -> str:
    """A UPID like Proxmox's: UPID:node:pid:pstart:starttime:type:id:user:"""
    kind = _UPID_TYPES.get(operation, operation)
    vmid = target.split("/", 1)[-1]
    pid = 0x1000 + serial
    return (f"UPID:{node}:{pid:08X}:{serial * 977:08X}:{int(started):08X}:"
            f"{kind}:{vmid}:{USER}:")
