"""The inventory of a cluster as frozen dataclasses, and how two inventories differ.

Every backend produces these; the monitor and the UI consume them. Nothing here imports
any other part of the project.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from operator import attrgetter


class GuestKind(StrEnum):
    VM = "qemu"
    CT = "lxc"


class GuestStatus(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"
    PAUSED = "paused"
    UNKNOWN = "unknown"


class NodeStatus(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    UNKNOWN = "unknown"
    CONNECTING = "connecting"  # the console has not heard from it yet


class NodeHAState(StrEnum):
    """A node as the Proxmox HA manager sees it (PVE/HA/NodeStatus.pm)."""

    ONLINE = "online"
    UNKNOWN = "unknown"
    FENCE = "fence"
    MAINTENANCE = "maintenance"
    GONE = "gone"


class HAState(StrEnum):
    """A service's state as the Proxmox HA manager reports it: the CRM's own states
    (PVE/HA/Manager.pm, $valid_service_states) and the ones `ha-manager status` and
    /cluster/ha/status/current show in their place (PVE/HA/Tools.pm,
    get_verbose_service_state)."""

    STARTED = "started"
    STOPPED = "stopped"
    DISABLED = "disabled"
    IGNORED = "ignored"
    REQUEST_START = "request_start"
    REQUEST_START_BALANCE = "request_start_balance"
    REQUEST_STOP = "request_stop"
    FREEZE = "freeze"
    FENCE = "fence"
    RECOVERY = "recovery"
    MIGRATE = "migrate"
    RELOCATE = "relocate"
    ERROR = "error"
    QUEUED = "queued"
    STARTING = "starting"
    STOPPING = "stopping"
    DELETING = "deleting"
    NOT_FOUND = "not found"
    CLEARING_ERROR = "clearing error flag"


class HAPhase(StrEnum):
    """What an HA state means for a service or node at a glance."""

    STEADY = "steady"  # as requested: nothing to do
    PENDING = "pending"  # the manager is acting on it
    TROUBLE = "trouble"  # lost, being fenced or recovered, or failed
    FROZEN = "frozen"  # left alone for now (a reboot, maintenance)
    UNMANAGED = "unmanaged"  # outside HA's care


@dataclass(frozen=True, slots=True)
class HAStateInfo:
    """A known HA state: its phase and a one-line meaning, for people."""

    phase: HAPhase
    meaning: str


# The meanings follow pve-ha-manager's sources (Manager.pm, NodeStatus.pm, Tools.pm) and
# the "How It Works" section of the Proxmox VE manual's HA chapter.
HA_SERVICE_STATES: dict[HAState, HAStateInfo] = {
    HAState.STARTED: HAStateInfo(HAPhase.STEADY, "kept running: the LRM of its node starts "
                                 "it whenever it finds it stopped"),
    HAState.STOPPED: HAStateInfo(HAPhase.STEADY, "kept stopped, as the LRM confirmed: it "
                                 "stops it again if it finds it running"),
    HAState.DISABLED: HAStateInfo(HAPhase.STEADY, "stopped and disabled: HA neither starts "
                                  "nor recovers it"),
    HAState.IGNORED: HAStateInfo(HAPhase.UNMANAGED, "HA leaves it alone (no start, stop or "
                                 "recovery); its HA settings are kept"),
    HAState.REQUEST_START: HAStateInfo(HAPhase.PENDING, "to be started: the CRM chooses its "
                                       "node (rebalance on start) before its LRM starts it"),
    HAState.REQUEST_START_BALANCE: HAStateInfo(HAPhase.PENDING, "to be started on the node "
                                               "the CRS chose for balance: moved, then "
                                               "started"),
    HAState.REQUEST_STOP: HAStateInfo(HAPhase.PENDING, "to be stopped: the CRM waits for "
                                      "the LRM to confirm it stopped"),
    HAState.FREEZE: HAStateInfo(HAPhase.FROZEN, "frozen: HA does not touch it while its "
                                "node reboots or its LRM restarts"),
    HAState.FENCE: HAStateInfo(HAPhase.TROUBLE, "its node left the quorate partition: "
                               "waiting until the node is fenced, then recovery"),
    HAState.RECOVERY: HAStateInfo(HAPhase.TROUBLE, "its node was fenced: the CRM looks for "
                                  "a node to recover it on"),
    HAState.MIGRATE: HAStateInfo(HAPhase.PENDING, "migrating live to another node"),
    HAState.RELOCATE: HAStateInfo(HAPhase.PENDING, "relocating to another node: stopped, "
                                  "moved, started"),
    HAState.ERROR: HAStateInfo(HAPhase.TROUBLE, "failed to start or stop after its restarts "
                               "and relocations: set it disabled, fix the cause, then "
                               "started"),
    HAState.QUEUED: HAStateInfo(HAPhase.PENDING, "just added: the CRM has not taken it up "
                                "yet"),
    HAState.STARTING: HAStateInfo(HAPhase.PENDING, "start requested: the LRM has not yet "
                                  "confirmed that it runs"),
    HAState.STOPPING: HAStateInfo(HAPhase.PENDING, "stop requested: the CRM has not yet "
                                  "acted on it"),
    HAState.DELETING: HAStateInfo(HAPhase.PENDING, "removed from the HA resources: the "
                                  "manager is letting go of it"),
    HAState.NOT_FOUND: HAStateInfo(HAPhase.TROUBLE, "the guest's configuration is on no "
                                   "node: HA cannot place it"),
    HAState.CLEARING_ERROR: HAStateInfo(HAPhase.PENDING, "disabled after an error: the CRM "
                                        "clears the error so it can be started again"),
}
HA_NODE_STATES: dict[NodeHAState, HAStateInfo] = {
    NodeHAState.ONLINE: HAStateInfo(HAPhase.STEADY, "in the quorate partition: runs HA "
                                    "services and takes new ones"),
    NodeHAState.MAINTENANCE: HAStateInfo(HAPhase.FROZEN, "in maintenance: takes no work; "
                                         "its services moved away until it ends"),
    NodeHAState.UNKNOWN: HAStateInfo(HAPhase.TROUBLE, "not in the quorate partition, maybe "
                                     "still running: its services are fenced after 60 s"),
    NodeHAState.FENCE: HAStateInfo(HAPhase.TROUBLE, "to be fenced: once its agent lock is "
                                   "free (its watchdog reset it) its services recover"),
    NodeHAState.GONE: HAStateInfo(HAPhase.UNMANAGED, "no longer in the cluster's member "
                                  "list (possibly removed)"),
}


def ha_state(text: str) -> HAState | str:
    """A service's HA state from a backend: the known state, or the string unchanged."""
    try:
        return HAState(text)
    except ValueError:
        return text


def node_ha_state(text: str) -> NodeHAState | str:
    """A node's HA state from a backend: the known state, or the string unchanged."""
    try:
        return NodeHAState(text)
    except ValueError:
        return text


class HARequest(StrEnum):
    """The state an admin asks the HA manager to keep a service in."""

    STARTED = "started"
    STOPPED = "stopped"
    DISABLED = "disabled"
    IGNORED = "ignored"


class RestartPriority(StrEnum):
    """vSphere HA's restart priority of a VM (vSphere API reference,
    `ClusterDasVmSettingsRestartPriority`): the order in which vSphere HA restarts VMs
    after a host failure; "disabled" leaves the VM down."""

    DISABLED = "disabled"
    LOWEST = "lowest"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    HIGHEST = "highest"


def restart_priority(text: str) -> RestartPriority | str:
    """A restart priority from vCenter: the known one, or the string unchanged."""
    try:
        return RestartPriority(text)
    except ValueError:
        return text


@dataclass(frozen=True, slots=True)
class VSphereVmHA:
    """A VM's vSphere HA setting: its restart priority, its own (an override in its
    cluster's `dasVmConfig`) or else the cluster's default (`dasConfig.defaultVmSettings`);
    None: vCenter reports neither."""

    restart_priority: RestartPriority | str | None
    own: bool = False


@dataclass(frozen=True, slots=True)
class HAConfig:
    """A guest's HA resource: what was requested and where the service is now.

    `group`, `nodes`, `max_restart` and `max_relocate` are the Proxmox HA manager's;
    a vSphere VM has none of them and carries its restart priority in `vsphere`."""

    request: HARequest = HARequest.STARTED
    # What the manager says; a state this console does not know stays as the string.
    state: HAState | str = HAState.STARTED
    group: str | None = None
    nodes: tuple[str, ...] = ()
    max_restart: int = 1
    max_relocate: int = 1
    vsphere: VSphereVmHA | None = None


@dataclass(frozen=True, slots=True)
class FaultTolerance:
    """A fault-tolerant VM (VMware FT; Remus): its shadow copy's node (None while a new
    one is copied: the VM runs unprotected), the checkpoint interval and how long after
    the last checkpoint the shadow goes live (milliseconds), and FT's price: the
    primary's slowdown and the FT link's load (percent)."""

    secondary: str | None
    checkpoint_ms: float
    takeover_ms: float
    slowdown: float
    link_load: float


@dataclass(frozen=True, slots=True)
class Metrics:
    """Figures that move on every poll. Rates are per second; cpu is a fraction of maxcpu."""

    cpu: float = 0.0
    mem: int = 0
    disk_read: float = 0.0
    disk_write: float = 0.0
    net_in: float = 0.0
    net_out: float = 0.0


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    status: NodeStatus
    maxcpu: int
    maxmem: int
    metrics: Metrics = field(default_factory=Metrics)
    uptime: float = 0.0
    loadavg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    ha_state: NodeHAState | str | None = None  # as the HA manager says it; None: no HA
    address: str | None = None  # where the console reaches it (a libvirt URI)
    # Why the console cannot reach it, in the backend's words; since when and when it
    # tries again (epoch seconds; next_try None: an attempt is under way).
    error: str | None = None
    since: float | None = None
    next_try: float | None = None
    # Figures the source does not report ("cpu", "mem", "net_in", "uptime", ...): shown
    # as absent, never as a measured zero.
    unreported: tuple[str, ...] = ()
    # Shared storages the node has but cannot use now (libvirt: the pool is inactive on
    # it), by name: its guests' disks there are out of its reach.
    storage_down: tuple[str, ...] = ()
    container: str | None = None  # the id of its innermost Container; None: the cluster

    @property
    def id(self) -> str:
        return f"node/{self.name}"

    @property
    def online(self) -> bool:
        return self.status is NodeStatus.ONLINE


@dataclass(frozen=True, slots=True)
class VSphereClusterConfig:
    """A vSphere cluster's vSphere HA and DRS settings (vSphere API reference,
    `ClusterConfigInfoEx`: `dasConfig.enabled`, `dasConfig.defaultVmSettings`,
    `drsConfig.enabled`, `drsConfig.defaultVmBehavior`); None: vCenter does not report
    it (vcsim leaves vSphere HA unset), which is not "off"."""

    ha_enabled: bool | None = None
    default_restart_priority: RestartPriority | str | None = None
    drs_enabled: bool | None = None
    drs_behavior: str | None = None  # DrsBehavior: manual, partiallyAutomated, fullyAutomated
    # DRS's pending recommendations (the cluster's `recommendation`), each as vCenter
    # words it: "rating 4 of 5: Balance average CPU loads."
    drs_recommendations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Container:
    """A level of the backend's own inventory between the cluster and its nodes, in the
    backend's terms: a vSphere datacenter, a vSphere cluster. A node names its innermost
    container (`Node.container`), a container the one around it (`parent`)."""

    id: str  # "container/<backend's id>", unique in the inventory
    name: str
    kind: str  # what the backend calls it: "datacenter", "vSphere cluster"
    parent: str | None = None
    vsphere: VSphereClusterConfig | None = None  # a vSphere cluster's HA and DRS


@dataclass(frozen=True, slots=True)
class Duplicate:
    """This guest is one of several copies of one guest in the cluster, e.g. a libvirt
    UUID defined on two hosts (what a migration without --undefinesource leaves): each
    copy is its own row with its own id, and knows the others."""

    shared: str  # what the copies share, in the backend's terms: "UUID"
    value: str  # its value: the UUID
    copies: tuple[str, ...]  # the other copies' guest ids
    nodes: tuple[str, ...]  # the other copies' nodes
    advice: str = ""  # what an admin does about it, in the backend's terms


class AddressSource(StrEnum):
    """Who told the console a guest's address: libvirt's three sources
    (VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT, _LEASE, _ARP), Proxmox's guest agent
    (`agent/network-get-interfaces`), a container's `interfaces`, a config's static
    `ip=` (Proxmox cloud-init `ipconfigN`, a container's `netN`), VMware Tools
    (`guest.net`), the console's own libvirt metadata, or the simulator's model."""

    AGENT = "guest agent"
    LEASE = "DHCP lease"
    ARP = "ARP table"
    CONTAINER = "container"
    CONFIG = "static config"
    TOOLS = "VMware Tools"
    METADATA = "console metadata"
    SIMULATOR = "simulator"


@dataclass(frozen=True, slots=True)
class GuestAddress:
    """One IP address of a guest, as its source reported it."""

    ip: str  # "10.0.0.5", "2001:db8::5"; no prefix
    source: AddressSource
    interface: str = ""  # the guest's (or config's) name for the interface: "eth0", "net0"
    prefix: int | None = None  # bits
    mac: str = ""

    @property
    def probeable(self) -> bool:
        """An address worth probing from outside: not loopback, link-local, unspecified
        or multicast (RFC 4291, RFC 3927); False for text that is no IP address."""
        try:
            ip = ipaddress.ip_address(self.ip)
        except ValueError:
            return False
        return not (ip.is_loopback or ip.is_link_local or ip.is_unspecified
                    or ip.is_multicast)


def probe_order(addresses: Iterable[GuestAddress]) -> tuple[GuestAddress, ...]:
    """The probe-worthy addresses, each once, IPv4 first, else in the source's order."""
    seen: set[str] = set()
    usable = []
    for a in addresses:
        if a.probeable and a.ip not in seen:
            seen.add(a.ip)
            usable.append(a)
    return tuple(sorted(usable, key=lambda a: ":" in a.ip))


@dataclass(frozen=True, slots=True)
class Guest:
    """A VM or a container. `id` is unique in its cluster, e.g. "qemu/100"; where the
    backend's own id is not (a libvirt UUID defined on two hosts), each copy's id names
    its host and `duplicate` says so."""

    id: str
    name: str
    kind: GuestKind
    node: str
    status: GuestStatus
    vmid: int | None = None
    template: bool = False
    maxcpu: int = 1
    maxmem: int = 0
    maxdisk: int = 0
    disk: int = 0
    metrics: Metrics = field(default_factory=Metrics)
    uptime: float = 0.0
    addresses: tuple[GuestAddress, ...] = ()
    # Why no address is known, for people: "stopped", "no guest agent configured", ...
    address_note: str | None = None
    ha: HAConfig | None = None
    lock: str | None = None
    tags: tuple[str, ...] = ()
    storages: tuple[str, ...] = ()
    duplicate: Duplicate | None = None
    unreported: tuple[str, ...] = ()  # as Node.unreported
    # Why an unreported uptime is not, for people: "libvirt's API gives none; ..."
    uptime_note: str | None = None
    # Why it is in its status, in the backend's words: "I/O error" for a paused guest
    status_reason: str | None = None
    fault_tolerance: FaultTolerance | None = None

    @property
    def running(self) -> bool:
        return self.status is GuestStatus.RUNNING

    @property
    def ip(self) -> str | None:
        """The address the console probes first (`probe_order`), or None."""
        usable = probe_order(self.addresses)
        return usable[0].ip if usable else None


@dataclass(frozen=True, slots=True)
class Storage:
    """A storage pool. `node` is None for shared storage that every node sees."""

    id: str
    name: str
    type: str
    shared: bool
    total: int
    used: int
    node: str | None = None
    active: bool = True
    content: tuple[str, ...] = ("images",)
    error: str | None = None  # why it is not active, in the backend's words


@dataclass(frozen=True, slots=True)
class Quorum:
    votes: int
    expected: int
    quorate: bool


@dataclass(frozen=True, slots=True)
class Snapshot:
    name: str
    parent: str | None
    created: float | None
    description: str = ""
    vmstate: bool = False
    current: bool = False
    quiesced: bool = False  # the guest's file systems were quiesced (vCenter)
    # Why no clone can be made of this snapshot, in the backend's terms; None: one can.
    clone_refusal: str | None = None


# What a view draws of an object, as a comparable key (its label's fields): the diff
# lists an id as relabelled only when this key changed. Views own their labels, so the
# caller passes it; without one, every change counts as a relabel.
LabelKey = Callable[[Node | Guest], object]


@dataclass(frozen=True, slots=True)
class InventoryDiff:
    """What changed between two inventories of one cluster, by object id.

    `relabelled` holds the ids whose label key (`LabelKey`, given by the view that draws
    them) changed, a subset of `changed`;
    `changed` holds every id with any change, metrics included; `moved` maps guest ids
    to their new node (a migration or a recovery changes the tree's shape).
    """

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    relabelled: tuple[str, ...] = ()
    moved: dict[str, str] = field(default_factory=dict)
    cluster_changed: bool = False
    # The containers, or the container of a node in one, changed: the tree's levels
    # above the nodes are built again (rare: a host moved into a cluster, a rename).
    regrouped: bool = False

    @property
    def topology_changed(self) -> bool:
        return bool(self.added or self.removed or self.moved or self.regrouped)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.cluster_changed)


@dataclass(frozen=True)
class Inventory:
    """One cluster at one moment: what a backend's single bulk call returns.

    Not slotted: the id maps are computed once per inventory (cached_property), since
    the tree, the detail pane and the diff all look objects up by id.
    """

    cluster: str
    nodes: tuple[Node, ...]
    guests: tuple[Guest, ...]
    storages: tuple[Storage, ...] = ()
    quorum: Quorum | None = None
    taken_at: float = 0.0
    # Levels between the cluster and its nodes (vCenter's datacenters and clusters),
    # each listed after the container around it.
    containers: tuple[Container, ...] = ()

    def node(self, name: str) -> Node | None:
        return next((n for n in self.nodes if n.name == name), None)

    def container(self, container_id: str | None) -> Container | None:
        return next((c for c in self.containers if c.id == container_id), None)

    def container_of(self, node: str) -> Container | None:
        """The innermost container of a node, by its name (None: it has none)."""
        found = self.node(node)
        return self.container(found.container) if found is not None else None

    def nodes_under(self, container_id: str) -> list[Node]:
        """The nodes in a container or in one inside it."""
        inside = {container_id}
        for c in self.containers:  # parents come first: one pass finds every level
            if c.parent in inside:
                inside.add(c.id)
        return [n for n in self.nodes if n.container in inside]

    @cached_property
    def _layout(self) -> tuple[object, ...]:
        """What the tree's levels above the nodes are built from."""
        return ((tuple((c.id, c.name, c.kind, c.parent) for c in self.containers)),
                tuple((n.name, n.container) for n in self.nodes if n.container is not None))

    def guest(self, guest_id: str) -> Guest | None:
        return self.guests_by_id().get(guest_id)

    def guests_by_id(self) -> dict[str, Guest]:
        return self._guests_by_id

    @cached_property
    def _guests_by_id(self) -> dict[str, Guest]:
        return {g.id: g for g in self.guests}

    @cached_property
    def _guests_by_node(self) -> dict[str, list[Guest]]:
        by_node: dict[str, list[Guest]] = {n.name: [] for n in self.nodes}
        for guest in self.guests:
            by_node.setdefault(guest.node, []).append(guest)
        return by_node

    def guests_on(self, node: str) -> list[Guest]:
        return list(self._guests_by_node.get(node, ()))

    def storages_for(self, node: str) -> list[Storage]:
        return [s for s in self.storages if s.node is None or s.node == node]

    def objects(self) -> dict[str, Node | Guest]:
        """Every node and guest by id (one shared dict: do not modify it)."""
        return self._objects

    @cached_property
    def _objects(self) -> dict[str, Node | Guest]:
        out: dict[str, Node | Guest] = {n.id: n for n in self.nodes}
        out.update(self._guests_by_id)
        return out

    def diff(self, newer: Inventory, label_key: LabelKey | None = None) -> InventoryDiff:
        """What `newer` changes relative to this inventory; `label_key` decides which
        changes relabel (None: all of them)."""
        old, new = self.objects(), newer.objects()
        added = tuple(k for k in new if k not in old)
        removed = tuple(k for k in old if k not in new)
        changed: list[str] = []
        relabelled: list[str] = []
        moved: dict[str, str] = {}
        for key, obj in new.items():
            before = old.get(key)
            # `is` first: a backend that reuses an unchanged entry (the simulator, 9 in
            # 10 guests a poll at 10,000) costs no field-by-field comparison.
            if before is obj or before is None or before == obj:
                continue
            changed.append(key)
            if label_key is None or label_key(before) != label_key(obj):
                relabelled.append(key)
            if isinstance(obj, Guest) and isinstance(before, Guest) and before.node != obj.node:
                moved[key] = obj.node
        cluster_changed = (self.cluster, self.quorum, self.storages, self.containers) != (
            newer.cluster,
            newer.quorum,
            newer.storages,
            newer.containers,
        )
        return InventoryDiff(
            added, removed, tuple(changed), tuple(relabelled), moved, cluster_changed,
            regrouped=self._layout != newer._layout,
        )


_METRIC_FIGURES = attrgetter("cpu", "mem", "disk_read", "disk_write", "net_in", "net_out")


def total_metrics(items: Iterable[Metrics]) -> Metrics:
    """The sum of several objects' metrics (cpu summed as fractions, callers scale it)."""
    # Columns summed by the builtin over one attrgetter per item: a node's 2,000 guests
    # are summed on every poll.
    columns = list(zip(*map(_METRIC_FIGURES, items), strict=True)) or [()] * 6
    cpu, mem, disk_read, disk_write, net_in, net_out = (sum(c) for c in columns)
    return Metrics(cpu=float(cpu), mem=int(mem), disk_read=float(disk_read),
                   disk_write=float(disk_write), net_in=float(net_in), net_out=float(net_out))

