"""The objects of an inventory: nodes, guests, storages, quorum, and the figures that
move on every poll. The records only some backends make are in modules of their own:
containers (`model.containers`), a guest's copies (`model.duplicates`), its snapshots
(`model.snapshots`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from operator import attrgetter
from typing import TYPE_CHECKING

from vmconsole.model.addresses import GuestAddress, probe_order
from vmconsole.model.ha import FaultTolerance, HAConfig, NodeHAState

if TYPE_CHECKING:
    from vmconsole.model.duplicates import Duplicate


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
    """A cluster node (a Proxmox node, a libvirt host, an ESXi host) as one poll saw it."""

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
    """The cluster's quorum: the votes present, the votes expected, and whether they are
    a quorum (on Proxmox, corosync's votequorum)."""

    votes: int
    expected: int
    quorate: bool


_METRIC_FIGURES = attrgetter("cpu", "mem", "disk_read", "disk_write", "net_in", "net_out")


def total_metrics(items: Iterable[Metrics]) -> Metrics:
    """The sum of several objects' metrics (cpu summed as fractions, callers scale it)."""
    # Columns summed by the builtin over one attrgetter per item: a node's 2,000 guests
    # are summed on every poll.
    columns = list(zip(*map(_METRIC_FIGURES, items), strict=True)) or [()] * 6
    cpu, mem, disk_read, disk_write, net_in, net_out = (sum(c) for c in columns)
    return Metrics(cpu=float(cpu), mem=int(mem), disk_read=float(disk_read),
                   disk_write=float(disk_write), net_in=float(net_in), net_out=float(net_out))
