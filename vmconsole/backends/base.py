"""The backend seam: one protocol that the simulator, libvirt and Proxmox implement.

Calls are blocking and thread-safe, with a timeout on every network call; the UI runs
them in worker threads only. Actions return a `Task` at once and do their work on the
backend; `tasks()` reports their progress. Failures are raised as the typed errors
below, carrying the backend's own message for the user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from vmconsole.backends.event_kinds import EventKind
from vmconsole.balance.planner import Rules
from vmconsole.model import (
    GuestAddress,
    GuestStatus,
    HARequest,
    Inventory,
    RestartPriority,
    Snapshot,
)

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


class MigrationMode(StrEnum):
    LIVE = "live"  # a running VM keeps running
    OFFLINE = "offline"  # a stopped guest
    RESTART = "restart"  # a running container: stop, move, start


@dataclass(frozen=True, slots=True)
class CloneSpec:
    """A clone of a guest or template; creating from a template is a clone of it."""

    name: str
    node: str
    storage: str | None = None  # None: the source's storage
    vmid: int | None = None  # None: the next free id (where the backend has ids)
    full: bool = True  # False: a linked clone (templates on storage that allows it)
    snapshot: str | None = None  # clone the state of this snapshot
    description: str = ""


@dataclass(frozen=True, slots=True)
class MigrationTarget:
    """A node a guest could go to, and if it may not, why."""

    node: str
    allowed: bool
    reason: str = ""
    local_disks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HASettings:
    """What `ha_set` asks for. `group`, `nodes` and the counts are the Proxmox HA
    manager's; `restart_priority` is vSphere HA's (None: the cluster's default)."""

    request: HARequest = HARequest.STARTED
    group: str | None = None
    nodes: tuple[str, ...] = ()  # node affinity (PVE 9 rules), when no group
    max_restart: int = 1
    max_relocate: int = 1
    restart_priority: RestartPriority | None = None


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


class FaultKind(StrEnum):
    POWER_OFF = "power_off"  # the node dies
    CUT_NETWORK = "cut_network"  # cluster network down; the node keeps running
    ISOLATE = "isolate"  # alias kept for the lecture's word: like CUT_NETWORK
    LOSE_STORAGE = "lose_storage"  # shared storage unreachable from the node


@runtime_checkable
class SupportsFaults(Protocol):
    """Fault injection, for teaching: the simulator and the lab (vmconsole.lab.backend)."""

    def inject_fault(self, node: str, fault: FaultKind) -> None: ...
    def partition(self, groups: list[list[str]]) -> None: ...
    def restore(self, node: str | None = None) -> None:
        """Undo faults on one node, or everywhere."""
        ...


@runtime_checkable
class SupportsTimeControl(Protocol):
    """A clock that a teacher can speed up or pause."""

    @property
    def time_scale(self) -> float: ...
    def set_time_scale(self, scale: float) -> None:
        """1.0 is real time; 0 pauses."""
        ...

    def now(self) -> float:
        """The backend's own clock, in seconds."""
        ...


@dataclass(frozen=True, slots=True)
class ClusterEvent:
    """Something that happened in the cluster, for the teaching timeline and the ping chart.

    `kind` says what happened, from one closed set (`EventKind`); `message` narrates it
    for a person, with the reason and any wait ("pve3 lost: waiting 60 s fence delay
    ...").
    """

    seq: int
    time: float
    kind: EventKind
    message: str
    node: str | None = None
    guest: str | None = None


@runtime_checkable
class SupportsEvents(Protocol):
    def events(self, since: int = 0) -> list[ClusterEvent]:
        """Events with seq > since, oldest first."""
        ...


@runtime_checkable
class SupportsProbe(Protocol):
    """Guests that answer probes from the model itself (the simulator's prober)."""

    def probe(self, guest_id: str) -> float | None:
        """The round-trip time in seconds if the guest answers now, else None."""
        ...


@runtime_checkable
class SupportsScenarios(Protocol):
    """The lecture's scenarios, runnable by name (the simulator only)."""

    def scenarios(self) -> list[tuple[str, str]]:
        """(name, one-line description) of each scenario."""
        ...

    def start_scenario(self, name: str | None) -> None:
        """Replace the cluster by the scenario's; None: back to the classic lab."""
        ...

    def scenario_summary(self) -> list[str]:
        """What the running scenario has measured so far (empty without one)."""
        ...


@runtime_checkable
class SupportsNodeAdmin(Protocol):
    """A node's planned outages: an admin's reboot or shutdown (HA services follow the
    cluster's shutdown policy), HA maintenance mode."""

    def reboot_node(self, node: str) -> None: ...
    def shutdown_node(self, node: str) -> None: ...
    def set_maintenance(self, node: str, enabled: bool) -> None: ...


@runtime_checkable
class SupportsHAAdmin(Protocol):
    """The HA stack: disarm it (freeze or ignore its services), arm it, restart a node's
    LRM or CRM, let rounds be skipped, and read `ha-manager status`."""

    def restart_lrm(self, node: str) -> None: ...
    def restart_crm(self, node: str) -> None: ...
    def skip_rounds(self, what: str, rounds: int = 1) -> None: ...
    def set_cfs_failure(self, node: str, failed: bool) -> None: ...
    def disarm_ha(self, mode: str) -> None: ...
    def arm_ha(self) -> None: ...
    def ha_status(self) -> list[str]: ...


@runtime_checkable
class SupportsBalancing(Protocol):
    """A load balancer (Proxmox's CRS, VMware's DRS): its plan, and applying it."""

    def crs_plan(self) -> list[str]: ...
    def crs_apply(self, count: int = 1) -> int: ...


@runtime_checkable
class SupportsPlacementRules(Protocol):
    """The cluster's own placement rules for a rebalance plan (`vmconsole.balance`)."""

    def placement_rules(self) -> Rules:
        """HA groups, node and resource affinity as nodes refused per guest, and the
        scheduler that balances HA guests itself (Proxmox's CRS with auto-rebalance),
        if any. Raises BackendError when the rules cannot be read."""
        ...


@runtime_checkable
class SupportsFaultTolerance(Protocol):
    """VMware FT / Remus: a VM's shadow copy on another node."""

    def set_fault_tolerance(self, guest_id: str, secondary: str | None) -> None: ...
    def fault_tolerance(self, guest_id: str) -> list[str]: ...


@runtime_checkable
class SupportsChangeNotice(Protocol):
    """A backend that learns of changes by events (libvirt's lifecycle callbacks)."""

    def set_change_callback(self, callback: Callable[[], None] | None) -> None:
        """`callback()` runs, on some backend thread, when the inventory changed."""
        ...


@runtime_checkable
class SupportsProbeNamespace(Protocol):
    """Guests reachable only from inside a network namespace (the lab's LAN)."""

    @property
    def probe_netns(self) -> str | None: ...


@runtime_checkable
class SupportsHostMaintenance(Protocol):
    """A host's maintenance mode as an operation with a task (vCenter's
    `EnterMaintenanceMode_Task`), where the simulator's is a teaching fault."""

    def set_host_maintenance(self, node: str, enabled: bool) -> Task:
        """Enter (`enabled`) or leave maintenance mode on host `node`."""
        ...

    def host_evacuation(self, node: str) -> str | None:
        """Who moves the running guests off host `node` when it enters maintenance mode,
        named in the backend's terms ("DRS (fully automated)"), or None when the
        console's plan must move them first. Raises BackendError when it cannot tell."""
        ...


@runtime_checkable
class SupportsTemplateToVM(Protocol):
    """A template that can become a VM again (vCenter's `MarkAsVirtualMachine`; Proxmox
    cannot undo a template)."""

    def convert_to_vm(self, guest_id: str, node: str) -> Task:
        """The template `guest_id` back to a VM, registered on host `node`."""
        ...


@dataclass(frozen=True, slots=True)
class AddressReading:
    """One guest's addresses as read at `taken_at` (epoch seconds); `note` says why
    there are none ("stopped", "no guest agent configured", the backend's error)."""

    guest_id: str
    addresses: tuple[GuestAddress, ...]
    note: str | None
    taken_at: float
    status: GuestStatus = GuestStatus.UNKNOWN  # the guest's status when read


@runtime_checkable
class SupportsGuestAddresses(Protocol):
    """Guest addresses that cost a call per guest (a guest agent, a container's
    interfaces, libvirt's interfaceAddresses): the inventory carries what a slow
    background sweep found (`backends.addresses.AddressBook`); this reads one now."""

    def guest_addresses(self, guest_id: str) -> AddressReading:
        """Read the guest's addresses now (blocking, up to the backend's timeout); the
        next inventory carries them. Raises NotFound for an unknown guest."""
        ...
