"""The backend seam: one protocol that the simulator, libvirt and Proxmox implement.

Calls are blocking and thread-safe, with a timeout on every network call; the UI runs
them in worker threads only. Actions return a `Task` at once and do their work on the
backend; `tasks()` reports their progress. Failures are raised as the typed errors
below, carrying the backend's own message for the user. The optional abilities a
backend may add (faults, events, probes, ...) are protocols of `abilities.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from vmconsole.model import Inventory

if TYPE_CHECKING:
    from vmconsole.backends.clones import CloneSpec
    from vmconsole.backends.ha_config import HASettings
    from vmconsole.model.snapshots import Snapshot

# --- errors -------------------------------------------------------------------------


class BackendError(Exception):
    """A failure to show the user in the backend's own words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotSupported(BackendError):
    """This backend (or this object on it) cannot do the operation."""


class Conflict(BackendError):
    """A lock is held, or a name or id is taken."""


class NotFound(BackendError):
    """The object does not exist (any more)."""


class AuthError(BackendError):
    """Credentials were refused or lack a permission."""


class Unreachable(BackendError):
    """The host or cluster did not answer in time."""


class InvalidInput(BackendError):
    """Parameters were refused; `fields` maps a parameter name to the reason."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = dict(fields or {})


# --- what a backend can do ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the UI may offer for a backend. Anything False is hidden, not just refused."""

    vmids: bool = False  # guests have numeric ids that a user chooses (Proxmox)
    containers: bool = False
    templates: bool = True
    snapshots: bool = True
    snapshot_ram: bool = True
    snapshot_quiesce: bool = False  # snapshot_create(..., quiesce=True): vCenter (Tools)
    linked_clone: bool = False
    live_migration: bool = True
    ha: bool = True
    # HA is a restart priority per VM (vSphere HA: HASettings.restart_priority), not a
    # resource with a group or nodes and restart counts (Proxmox)
    ha_restart_priority: bool = False
    history: bool = False  # history() serves its own data (Proxmox rrddata)
    faults: bool = False  # the SupportsFaults protocol (the simulator, the lab)
    time_control: bool = False  # the SupportsTimeControl protocol (the simulator only)
    hardware: bool = False  # backends.hardware.SupportsHardware: vCPUs, memory, disks, links
    serial_console: bool = False  # SupportsSerialConsole (backends/serial.py)
    backups: bool = False  # backends.backups.SupportsBackups: vzdump, libvirt's backup API
    destroy: bool = False  # backends.removal.SupportsDestroy: delete a guest and its disks


# --- operations' parameters ---------------------------------------------------------
# A clone's spec is backends/clones.py's; a guest's HA settings, backends/ha_config.py's.


class MigrationMode(StrEnum):
    LIVE = "live"  # a running VM keeps running
    OFFLINE = "offline"  # a stopped guest
    RESTART = "restart"  # a running container: stop, move, start


@dataclass(frozen=True, slots=True)
class MigrationTarget:
    """A node a guest could go to, and if it may not, why."""

    node: str
    allowed: bool
    reason: str = ""
    local_disks: tuple[str, ...] = ()


# --- tasks --------------------------------------------------------------------------


class TaskStatus(StrEnum):
    RUNNING = "running"
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"

    @property
    def done(self) -> bool:
        return self is not TaskStatus.RUNNING


@dataclass(frozen=True, slots=True)
class Task:
    """One operation on the backend, as the task log shows it."""

    id: str
    operation: str  # e.g. "migrate", "clone", "snapshot", "start"
    target: str  # the guest id (or node name) acted on
    node: str
    user: str
    started: float  # seconds since the epoch
    status: TaskStatus = TaskStatus.RUNNING
    ended: float | None = None  # seconds since the epoch, once done
    progress: float | None = None  # 0..1 while running, when the backend knows
    log: tuple[str, ...] = ()
    error: str | None = None
    result: dict[str, object] = field(default_factory=dict)  # e.g. new_id, downtime_ms
    # Who asked, where `user` is the account the console acts as (a served class's
    # student, while the cluster logs the server's root@pam): "" when it is `user`.
    acted_by: str = ""

    @property
    def duration(self) -> float | None:
        """Seconds from start to end; None while running."""
        return None if self.ended is None else self.ended - self.started


@dataclass(frozen=True, slots=True)
class MetricSample:
    """One point of an object's history, in the units of `model.Metrics`."""

    time: float  # seconds since the epoch (the backend's clock)
    cpu: float  # fraction of the object's CPUs, 0..1 (not percent)
    mem: int  # bytes in use
    maxmem: int  # bytes
    net_in: float  # bytes per second
    net_out: float  # bytes per second
    disk_read: float = 0.0  # bytes per second
    disk_write: float = 0.0  # bytes per second


# --- the protocol -------------------------------------------------------------------


@runtime_checkable
class Backend(Protocol):
    """One cluster connection. Every method may block; every one is thread-safe.

    Every call may raise `Unreachable` (no answer within the cluster's timeout) and
    `AuthError` (credentials refused, or a permission missing: Proxmox's `Sys.Audit`,
    `VM.PowerMgmt`...), besides what each lists. An operation returns its `Task` as soon
    as the backend accepted it; its failure later shows in that task (`status`,
    `error`), not as an exception. Ids are the model's: "qemu/100", "lxc/200", "vm-42".
    """

    @property
    def name(self) -> str:
        """The cluster's name as the tree shows it."""
        ...

    @property
    def capabilities(self) -> Capabilities:
        """What the UI may offer for this backend (fixed for its lifetime)."""
        ...

    @property
    def address(self) -> str:
        """Where the console reaches the cluster, for people: an API URL, libvirt URIs."""
        ...

    def inventory(self) -> Inventory:
        """Everything in the cluster, in one bulk call: nodes, guests, storage, quorum,
        with figures in `model.Metrics`' units (cpu a fraction, memory bytes, rates
        bytes per second). A node that does not answer is in it, marked down with its
        error; Unreachable only when the whole cluster does not answer."""
        ...

    def history(self, object_id: str, timeframe: str) -> list[MetricSample]:
        """Samples for one object over "hour", "day" or "week", oldest first, in
        `MetricSample`'s units (Proxmox: its rrddata, one sample a minute for an hour).

        Raises NotSupported where the poller's own ring buffers are the only history,
        NotFound for an unknown object.
        """
        ...

    def tasks(self) -> list[Task]:
        """Running and recent tasks, newest last (times in seconds since the epoch)."""
        ...

    def task(self, task_id: str) -> Task:
        """One task as it is now, with its log. Raises NotFound for an unknown id."""
        ...

    # power
    def start(self, guest_id: str) -> Task:
        """Power the guest on. Raises NotFound; Conflict when it runs already, is
        locked by another task, or a copy of it runs elsewhere (same disks)."""
        ...

    def shutdown(self, guest_id: str, timeout: float = 60.0) -> Task:
        """Ask the guest OS to shut down (ACPI or the guest agent), waiting up to
        `timeout` seconds; the task fails if it is still running then. Raises
        NotFound; Conflict when it is not running or is locked."""
        ...

    def stop(self, guest_id: str) -> Task:
        """Cut the power at once. Raises NotFound; Conflict when it is not running."""
        ...

    def reboot(self, guest_id: str) -> Task:
        """Ask the guest OS to restart. Raises NotFound; Conflict when not running."""
        ...

    # templates and clones
    def next_vmid(self) -> int | None:
        """The next free guest id (Proxmox's `/cluster/nextid`), or None where guests
        have no numeric ids."""
        ...

    def clone(self, guest_id: str, spec: CloneSpec) -> Task:
        """A new guest from a stopped guest, a template or a snapshot: new name, UUID
        and MACs. Raises InvalidInput (per field: a name or id taken, a storage that
        cannot hold it, a linked clone where the storage cannot), NotFound, Conflict
        (the source is locked or running without a snapshot). A clone that fails
        leaves no guest or disk behind."""
        ...

    def convert_to_template(self, guest_id: str) -> Task:
        """Make a stopped guest a template (irreversible on Proxmox). Raises NotFound;
        Conflict when it runs; NotSupported for a backend without templates."""
        ...

    # snapshots
    def snapshots(self, guest_id: str) -> list[Snapshot]:
        """The guest's snapshots, parents first, with "current" (the guest as it is)
        where the backend lists it. Raises NotFound; NotSupported."""
        ...

    def snapshot_create(
        self, guest_id: str, name: str, description: str = "", vmstate: bool = False
    ) -> Task:
        """Take a snapshot; `vmstate` also saves a running VM's RAM. Raises
        InvalidInput (a bad or taken name, per field), NotFound, Conflict (locked),
        NotSupported (the guest's storage cannot)."""
        ...

    def snapshot_rollback(self, guest_id: str, name: str) -> Task:
        """Return the guest to a snapshot; every later change is lost. Raises
        NotFound (guest or snapshot), Conflict (locked)."""
        ...

    def snapshot_delete(self, guest_id: str, name: str) -> Task:
        """Delete a snapshot (its children keep their state). Raises NotFound,
        Conflict (locked)."""
        ...

    # migration
    def migration_targets(self, guest_id: str) -> list[MigrationTarget]:
        """Every other node, each with whether the guest may go there and if not why
        (offline, not enough memory, local disks, a copy defined there). Raises
        NotFound."""
        ...

    def migrate(
        self, guest_id: str, node: str, mode: MigrationMode, with_local_disks: bool = False
    ) -> Task:
        """Move the guest to `node`: live (a running VM keeps running), offline (a
        stopped guest) or restart (a running container). The task's `result` holds
        what the backend measured (`downtime_ms`, milliseconds). Raises InvalidInput
        (a target it may not go to, with the reason), NotFound, Conflict (locked),
        NotSupported (a live migration the backend cannot do)."""
        ...

    # high availability
    def ha_set(self, guest_id: str, settings: HASettings) -> Task:
        """Make the guest an HA resource, or change its settings (Proxmox's
        `/cluster/ha/resources`, vSphere HA's restart priority). Raises InvalidInput
        (an unknown group or node), NotFound, NotSupported."""
        ...

    def ha_remove(self, guest_id: str) -> Task:
        """Stop managing the guest with the HA manager. Raises NotFound (the guest, or
        not an HA resource), NotSupported."""
        ...

    def ha_groups(self) -> list[str]:
        """The HA groups a guest may be put in (vSphere: the restart priorities)."""
        ...

    def close(self) -> None:
        """Release connections; called when the console exits."""
        ...
