"""Tasks as the Proxmox task log shows them: a UPID, log lines, progress, a result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from vmconsole.backends.base import Task, TaskStatus
from vmconsole.model import GuestKind

USER = "root@pam"

# The type Proxmox VE writes into a task's UPID, per operation, for a VM and for a
# container: the fork_worker() names of qemu-server (PVE/API2/Qemu.pm) and pve-container
# (PVE/API2/LXC.pm, LXC/Status.pm, LXC/Snapshot.pm).
_UPID_TYPES: dict[str, tuple[str, str]] = {
    "start": ("qmstart", "vzstart"), "shutdown": ("qmshutdown", "vzshutdown"),
    "stop": ("qmstop", "vzstop"), "reboot": ("qmreboot", "vzreboot"),
    "clone": ("qmclone", "vzclone"), "template": ("qmtemplate", "vztemplate"),
    "snapshot": ("qmsnapshot", "vzsnapshot"), "rollback": ("qmrollback", "vzrollback"),
    "delsnapshot": ("qmdelsnapshot", "vzdelsnapshot"), "migrate": ("qmigrate", "vzmigrate"),
    # `ha-manager migrate|relocate`, and `qm migrate` of an HA-managed guest.
    "hamigrate": ("hamigrate", "hamigrate"), "harelocate": ("harelocate", "harelocate"),
    "resize": ("qmresize", "vzresize"),
    # vzdump (PVE/API2/VZDump.pm), qmrestore/pct restore, and a backup volume's removal
    # (PVE/API2/Storage/Content.pm's "imgdel").
    "backup": ("vzdump", "vzdump"), "restore": ("qmrestore", "vzrestore"),
    "delbackup": ("imgdel", "imgdel"),
    "destroy": ("qmdestroy", "vzdestroy"),
}
# A start, shutdown or stop of an HA-managed guest is a request to the HA
# manager, logged by both APIs under the HA's own type (a shutdown is an "hastop").
_HA_UPID_TYPES = {"start": "hastart", "shutdown": "hastop", "stop": "hastop"}


@dataclass(slots=True)
class TaskRecord:
    """A simulated task as the simulator keeps it while it runs (times in simulated epoch
    seconds); the backend hands out `Task`s made from it."""

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


def upid_type(operation: str, kind: GuestKind, via_ha: bool = False) -> str | None:
    """The task type Proxmox VE gives `operation` on a guest of `kind` ("qmclone",
    "vzclone", "hastart"), or None where Proxmox makes no task (HA resource changes are
    plain API calls)."""
    if via_ha and operation in _HA_UPID_TYPES:
        return _HA_UPID_TYPES[operation]
    types = _UPID_TYPES.get(operation)
    return None if types is None else types[kind is GuestKind.CT]


def make_upid(node: str, serial: int, started: float, task_type: str, vmid: int) -> str:
    """A UPID like Proxmox's: UPID:node:pid:pstart:starttime:type:id:user: (hex numbers,
    as PVE::Tools::upid_encode writes them)."""
    pid = 0x1000 + serial
    return (f"UPID:{node}:{pid:08X}:{serial * 977:08X}:{int(started):08X}:"
            f"{task_type}:{vmid}:{USER}:")
