"""The simulator's mutable world: nodes, guests, storages and the guests' running copies.

A guest's *config* lives on one node (`SimGuest.node`, like /etc/pve/nodes/X/...), while
a running QEMU or container process is an `Instance` on a node. Keeping the two apart is
what lets the model show a split brain that goes wrong: the HA manager moves a config,
and only the fencing timeline keeps two instances of one guest from running at once.

The records only an operation makes (a snapshot, a backup, a fault-tolerant pair) are
defined with it, in `snapshots`, `backups` and `ft`: no build makes one, and every
start would otherwise define them (issue 12).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vmconsole.model import GuestKind, HARequest, HAState, NodeHAState

if TYPE_CHECKING:
    from vmconsole.backends.sim.ha_fake import FakeFailures
    from vmconsole.backends.sim.snapshots import SimSnapshot

GiB = 1024**3
MiB = 1024**2


@dataclass(slots=True)
class SimDisk:
    """One of a guest's volumes, by its config key, on a storage."""

    key: str  # "scsi0", "rootfs"
    storage: str
    size: int
    node: str | None = None  # where a volume on local storage lives (None: shared)


@dataclass(slots=True)
class HAResource:
    """A guest's HA resource: what ha-manager is asked (request) and where it stands
    (state), with its group, restart and relocate limits and their counters."""

    request: HARequest
    state: HAState
    group: str | None = None
    nodes: tuple[str, ...] = ()
    max_restart: int = 1
    max_relocate: int = 1
    restarts: int = 0  # failed starts on the current node
    relocations: int = 0  # moves after failed starts
    maintenance_from: str | None = None  # the node it left for a maintenance, to go back
    failback: bool = True  # the resource's own failback flag (PVE 9)
    stop_timeout: float | None = None  # a stop command's timeout (0: hard stop)
    target: str | None = None  # where it goes while in `migrate` or `relocate`
    # nodes a start failed on since its last good start (Manager.pm's failed_nodes)
    failed_nodes: list[str] = field(default_factory=list)


# HA services in these states should run: they are fenced and recovered with their node
# (every `ha_*` module and the CRS read them; the LRM's from the start).
ACTIVE_STATES = (HAState.STARTED, HAState.MIGRATE, HAState.RELOCATE, HAState.FENCE,
                 HAState.RECOVERY, HAState.REQUEST_STOP)
MOVING_STATES = (HAState.MIGRATE, HAState.RELOCATE)  # a service on its way to `target`


@dataclass(slots=True)
class HAGroup:
    """An HA group: its nodes by priority, and whether it is restricted to them."""

    name: str
    priorities: dict[str, int]  # node -> priority (higher is preferred)
    restricted: bool = False
    nofailback: bool = False
    # The nodes a negative node-affinity rule named; `priorities` then holds the others,
    # as pve-ha-manager keeps a negative rule internally.
    avoided: tuple[str, ...] = ()


@dataclass(slots=True)
class SimGuest:
    """A VM or container's config, on the node that holds it (`node`), with what the
    simulator keeps of its hardware, HA, locks, snapshots and load row."""

    id: str
    vmid: int
    name: str
    kind: GuestKind
    node: str
    maxcpu: int
    maxmem: int
    disks: list[SimDisk]
    ip: str | None
    mac: str
    uuid_number: int  # its UUID as a 128-bit number (`uuid` writes it out)
    load_index: int  # which row of the load model drives its metrics
    template: bool = False
    tags: tuple[str, ...] = ()
    ha: HAResource | None = None
    lock: str | None = None  # the config lock Proxmox shows (clone, migrate, snapshot...)
    busy: str | None = None  # the task holding the guest, lock or not
    snapshots: dict[str, SimSnapshot] = field(default_factory=dict)
    current_snapshot: str | None = None  # the parent of "now" in the snapshot tree
    disk_used_fraction: float = 0.3
    boot_seconds: float = 20.0
    shutdown_seconds: float = 8.0  # from the ACPI request until the guest is off
    description: str = ""
    link_up: bool = True  # its one NIC, net0: False is Proxmox's link_down=1
    # (CPUs, bytes) a lesson fixes for the CRS: its configured size (static; None:
    # maxcpu, maxmem) and its measured use (dynamic; None: the load model's figures)
    configured: tuple[float, float] | None = None
    measured: tuple[float, float] | None = None
    fake: FakeFailures | None = None  # a test directory's fa: resource: how it fails
    # Hardware written to the config for the next start ("cores", "memory"), as
    # Proxmox's pending section: a running VM without hotplug keeps its old figures.
    pending: dict[str, int] = field(default_factory=dict)
    # Derived from `disks` by `set_disks`, kept as fields because every poll reads them.
    storages: tuple[str, ...] = ()
    disk_bytes: int = 0

    def __post_init__(self) -> None:
        self.set_disks(self.disks)

    @property
    def uuid(self) -> str:
        """Its UUID as libvirt and Proxmox write it, "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
        (RFC 9562, 4)."""
        from uuid import UUID  # seldom read (no screen shows it yet): loaded when it is

        return str(UUID(int=self.uuid_number))

    def set_disks(self, disks: list[SimDisk]) -> None:
        self.disks = disks
        if len(disks) == 1:  # almost every guest: 10,000 at a generated cluster's build
            self.storages, self.disk_bytes = (disks[0].storage,), disks[0].size
            return
        # Lists, not generators: a third cheaper.
        self.storages = tuple(dict.fromkeys([d.storage for d in disks]))
        self.disk_bytes = sum([d.size for d in disks])


@dataclass(slots=True)
class Instance:
    """A running QEMU process or container on a node."""

    guest: str
    since: float
    booted: bool = False  # answers on the network only once booted
    paused: bool = False  # a live migration's stop-and-copy
    incoming: bool = False  # a migration target not yet resumed


@dataclass(slots=True)
class LRM:
    """A node's local resource manager and its watchdog."""

    # active (holds its agent lock), wait_for_agent_lock, lost_agent_lock, maintenance
    mode: str = "active"
    lock_renewed: float = 0.0  # last renewal of the node's agent lock (120 s lease)
    watchdog_fed: float = 0.0  # last feed of the watchdog (60 s timeout)
    idle_since: float | None = None  # when its last HA service left (it stays armed a while)

    def service_left(self, now: float) -> None:
        """An HA service left the node: the LRM's idle rounds count from here (LRM.pm's
        `active_idle_rounds`)."""
        self.idle_since = now


@dataclass(slots=True)
class SimNode:
    """A node: its power, membership, network and storage state, the guests running on
    it (`instances`), its HA state and its LRM."""

    name: str
    index: int
    maxcpu: int
    maxmem: int
    address: str
    powered: bool = True
    up: bool = True  # booted far enough to take part in the cluster
    up_since: float = 0.0
    net_up: bool = True
    storage_ok: bool = True
    partition: int = 0  # nodes talk only inside one partition
    instances: dict[str, Instance] = field(default_factory=dict)
    # The CRM master's view (NodeStatus.pm); None: in no manager status yet (no master).
    ha_state: NodeHAState | None = NodeHAState.ONLINE
    maintenance: bool = False
    lrm: LRM = field(default_factory=LRM)

    @property
    def alive(self) -> bool:
        return self.powered and self.up


@dataclass(slots=True)
class SimStorage:
    """A storage as storage.cfg defines it: shared, or local to `node`."""

    name: str
    type: str
    shared: bool
    total: int
    node: str | None = None  # local storage: its node
    snapshots: bool = True
    linked_clones: bool = False
    write_speed: float = 200 * MiB  # bytes/s, for full clones and disk moves
    content: tuple[str, ...] = ("images", "rootdir")

    @property
    def id(self) -> str:
        return f"storage/{self.node}/{self.name}" if self.node else f"storage/{self.name}"


@dataclass(slots=True)
class Votequorum:
    """The quorum section's options, and the state they keep."""

    two_node: bool = False
    wait_for_all: bool = False
    last_man_standing: bool = False
    auto_tie_breaker: bool = False
    lms_window: float = 10.0  # last_man_standing_window, seconds
    seen_all: bool = True  # wait_for_all: every node seen together since the cold start
    expected: int | None = None  # last_man_standing's lowered expected votes

    @property
    def waits_for_all(self) -> bool:
        return self.wait_for_all or self.two_node

    def names(self) -> list[str]:
        return [name for name in ("two_node", "wait_for_all", "last_man_standing",
                                  "auto_tie_breaker") if getattr(self, name)]
