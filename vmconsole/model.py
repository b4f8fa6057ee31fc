"""The inventory of a cluster as frozen dataclasses, and how two inventories differ.

Every backend produces these; the monitor and the UI consume them. Nothing here imports
any other part of the project.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from enum import StrEnum
from functools import cached_property


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


class NodeHAState(StrEnum):
    """A node as the Proxmox HA manager sees it."""

    ONLINE = "online"
    UNKNOWN = "unknown"
    FENCE = "fence"
    MAINTENANCE = "maintenance"
    GONE = "gone"


class HAState(StrEnum):
    """A service's state as the Proxmox HA manager reports it (`ha-manager status`)."""

    STARTED = "started"
    STOPPED = "stopped"
    REQUEST_STOP = "request_stop"
    FENCE = "fence"
    RECOVERY = "recovery"
    MIGRATE = "migrate"
    RELOCATE = "relocate"
    FREEZE = "freeze"
    ERROR = "error"
    DISABLED = "disabled"
    IGNORED = "ignored"


class HARequest(StrEnum):
    """The state an admin asks the HA manager to keep a service in."""

    STARTED = "started"
    STOPPED = "stopped"
    DISABLED = "disabled"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class HAConfig:
    """A guest's HA resource: what was requested and where the service is now."""

    request: HARequest = HARequest.STARTED
    state: HAState = HAState.STARTED
    group: str | None = None
    nodes: tuple[str, ...] = ()
    max_restart: int = 1
    max_relocate: int = 1


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
    ha_state: NodeHAState | None = None
    address: str | None = None
    # Figures the source does not report ("cpu", "mem", "net_in", "uptime", ...): shown
    # as absent, never as a measured zero.
    unreported: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"node/{self.name}"

    @property
    def online(self) -> bool:
        return self.status is NodeStatus.ONLINE


@dataclass(frozen=True, slots=True)
class Guest:
    """A VM or a container. `id` is unique in its cluster, e.g. "qemu/100"."""

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
    ip: str | None = None
    ha: HAConfig | None = None
    lock: str | None = None
    tags: tuple[str, ...] = ()
    storages: tuple[str, ...] = ()
    unreported: tuple[str, ...] = ()  # as Node.unreported

    @property
    def running(self) -> bool:
        return self.status is GuestStatus.RUNNING


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


# Fields that a tree label shows. Only a change in one of these relabels a tree node:
# relabelling costs ~30 us a node, so 10,000 guests must not all relabel on every poll.
_GUEST_LABEL_FIELDS = ("name", "kind", "node", "status", "vmid", "template", "ha", "lock")
_NODE_LABEL_FIELDS = ("name", "status", "ha_state")


def _label_of(obj: Guest | Node) -> tuple[object, ...]:
    names = _GUEST_LABEL_FIELDS if isinstance(obj, Guest) else _NODE_LABEL_FIELDS
    return tuple(getattr(obj, name) for name in names)


@dataclass(frozen=True, slots=True)
class InventoryDiff:
    """What changed between two inventories of one cluster, by object id.

    `relabelled` holds the ids whose tree label changed (a subset of `changed`);
    `changed` holds every id with any change, metrics included; `moved` maps guest ids
    to their new node (a migration or a recovery changes the tree's shape).
    """

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    relabelled: tuple[str, ...] = ()
    moved: dict[str, str] = field(default_factory=dict)
    cluster_changed: bool = False

    @property
    def topology_changed(self) -> bool:
        return bool(self.added or self.removed or self.moved)

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

    def node(self, name: str) -> Node | None:
        return next((n for n in self.nodes if n.name == name), None)

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

    def diff(self, newer: Inventory) -> InventoryDiff:
        """What `newer` changes relative to this inventory."""
        old, new = self.objects(), newer.objects()
        added = tuple(k for k in new if k not in old)
        removed = tuple(k for k in old if k not in new)
        changed: list[str] = []
        relabelled: list[str] = []
        moved: dict[str, str] = {}
        for key, obj in new.items():
            before = old.get(key)
            if before is None or before == obj:
                continue
            changed.append(key)
            if _label_of(before) != _label_of(obj):
                relabelled.append(key)
            if isinstance(obj, Guest) and isinstance(before, Guest) and before.node != obj.node:
                moved[key] = obj.node
        cluster_changed = (self.cluster, self.quorum, self.storages) != (
            newer.cluster,
            newer.quorum,
            newer.storages,
        )
        return InventoryDiff(
            added, removed, tuple(changed), tuple(relabelled), moved, cluster_changed
        )


def total_metrics(items: Iterable[Metrics]) -> Metrics:
    """The sum of several objects' metrics (cpu summed as fractions, callers scale it)."""
    sums = {f.name: 0.0 for f in fields(Metrics)}
    for m in items:
        for name in sums:
            sums[name] += getattr(m, name)
    return Metrics(
        cpu=sums["cpu"],
        mem=int(sums["mem"]),
        disk_read=sums["disk_read"],
        disk_write=sums["disk_write"],
        net_in=sums["net_in"],
        net_out=sums["net_out"],
    )
