"""The simulator's state as one `Inventory`, cheaply enough for 10,000 guests a poll.

Like Proxmox's pvestatd, which broadcasts each guest's figures every 10 s, every guest
reports its figures on a grid of `interval` seconds, each with its own phase. Between
two of its grid points a guest's entry is reused as it is, so a poll rebuilds only the
guests whose figures are due or whose state changed (`Sim.touch`). Nodes are summed
from their guests on every poll.
The classic lab reports every second, so its graphs move smoothly.

What the console sees is the view of the membership it is connected to
(`membership.view`): nodes outside it are offline to it, and their guests' status is
unknown, as in the Proxmox GUI.
"""

from __future__ import annotations

import math
from functools import lru_cache

from vmconsole.backends.sim.collector import collector_paused
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.load import LoadModel
from vmconsole.backends.sim.membership import quorum_by_node, view
from vmconsole.backends.sim.state import GiB, SimGuest, SimNode
from vmconsole.give_way import EVERY, give_way
from vmconsole.model import (
    AddressSource,
    FaultTolerance,
    Guest,
    GuestAddress,
    GuestStatus,
    HAConfig,
    HARequest,
    HAState,
    Inventory,
    Metrics,
    Node,
    NodeStatus,
    Quorum,
    Storage,
)
from vmconsole.model.records import fast_constructor

NODE_BASE_MEM = 2 * GiB  # the host's own use: kernel, pmxcfs, pveproxy
NODE_BASE_CPU = 0.02
GOLDEN = 0.6180339887498949  # spreads the objects' phases evenly over the interval
_IDLE = Metrics()
_NEVER = math.inf
# A poll of a 10,000-guest cluster remakes up to every guest and its metrics: made as
# drafts, 1.5 µs a guest instead of 9 µs (`model.records`).
_new_guest = fast_constructor(Guest)
_new_metrics = fast_constructor(Metrics)
_new_address = fast_constructor(GuestAddress)

# A running guest's (cpu, mem, disk_read, disk_write, net_in, net_out, cores in use).
Figures = tuple[float, int, float, float, float, float, float]


def report_interval(guest_count: int) -> float:
    """Seconds between two reports of one object: 1 s for a small cluster, growing to
    pvestatd's 10 s at 10,000 guests."""
    return min(10.0, max(1.0, guest_count / 1000))


def verbose_ha_state(request: HARequest, state: HAState, status: GuestStatus) -> HAState:
    """The state as `ha-manager status` shows it (PVE/HA/Tools.pm,
    get_verbose_service_state): a service kept started whose guest does not run yet is
    `starting`, one still started while asked to stop is `stopping`, a stopped one
    asked to start is `starting`."""
    if status is GuestStatus.UNKNOWN:  # its node is out of sight: no LRM news
        return state
    if state is HAState.STOPPED and request is HARequest.STARTED:
        return HAState.STARTING
    if state is HAState.STARTED:
        if status is not GuestStatus.RUNNING:
            return HAState.STARTING
        if request in (HARequest.STOPPED, HARequest.DISABLED):
            return HAState.STOPPING
    return state


def _addresses(guest: SimGuest, status: GuestStatus
               ) -> tuple[tuple[GuestAddress, ...], str | None]:
    """(addresses, why none) as a real cluster would report them: only a running guest
    reports its address (through its agent, or its container's interfaces)."""
    if guest.template:
        return (), "a template does not run"
    if status is GuestStatus.UNKNOWN:
        return (), "its node cannot be reached"
    if status is not GuestStatus.RUNNING:
        return (), "stopped"
    if guest.ip is None:
        return (), "the simulator gave it no address"
    return _reported(guest.ip, guest.mac), None


# One entry per simulated guest's (address, MAC): a 10,000-guest cluster's first
# inventory made 10,000 addresses equal to those of its build, 1.2-2.6 µs each
# (issue 12). Bounded for a process that builds many simulators.
@lru_cache(maxsize=65536)
def _reported(ip: str, mac: str) -> tuple[GuestAddress, ...]:
    """A running guest's addresses as its agent reports them: one, on eth0."""
    return (_new_address(ip, AddressSource.SIMULATOR, "eth0", mac=mac),)


def _ha_config(guest: SimGuest, status: GuestStatus) -> HAConfig | None:
    ha = guest.ha
    if ha is None:
        return None
    return HAConfig(ha.request, verbose_ha_state(ha.request, ha.state, status), ha.group,
                    ha.nodes, ha.max_restart, ha.max_relocate)


def _fault_tolerance(sim: Sim, guest: SimGuest) -> FaultTolerance | None:
    """A fault-tolerant guest's FT state (`ft.state`): called only for a guest in
    `sim.ft`, so that a cluster without FT never imports `ft`."""
    from vmconsole.backends.sim import ft  # loaded by `ft.enable`, which made the pair

    return ft.state(sim, guest)


def storages(sim: Sim, visible: set[str]) -> tuple[Storage, ...]:
    used = sim.usage()
    out = []
    for s in sim.storages:
        active = any(sim.nodes[n].storage_ok for n in visible) if s.shared else s.node in visible
        out.append(Storage(s.id, s.name, s.type, s.shared, s.total,
                           used.get((s.name, s.node), 0), s.node, active, s.content))
    return tuple(out)


class InventoryBuilder:
    """Builds inventories, reusing each guest's entry until it is due or touched."""

    def __init__(self, sim: Sim, load: LoadModel, interval: float) -> None:
        self.sim, self.load, self.interval = sim, load, interval
        # guest id -> (valid until, Guest, figures of a running guest)
        self._guests: dict[str, tuple[float, Guest, Figures | None]] = {}
        self._view: frozenset[str] = frozenset()

    def _sample_time(self, now: float, index: int) -> float:
        """The last grid point of object `index` at or before `now`."""
        phase = (index * GOLDEN) % 1.0 * self.interval
        return math.floor((now - phase) / self.interval) * self.interval + phase

    @collector_paused()
    def build(self) -> Inventory:
        sim, now = self.sim, self.sim.now
        quorum = quorum_by_node(sim)
        visible = frozenset(node.name for node in view(sim, quorum))
        if visible != self._view:  # who is online changed: every entry may differ
            self._view = visible
            self._guests.clear()
        if self._guests:  # the first inventory's 10,000 touched guests have no entry yet
            for guest_id in sim.changed_guests:
                self._guests.pop(guest_id, None)
        sim.changed_guests = set()
        cache = self._guests
        running_by_node: dict[str, list[Figures]] = {n: [] for n in sim.nodes}
        guests: list[Guest] = []
        for i, g in enumerate(sim.guests.values()):
            if not i % EVERY:
                give_way()  # a console's key goes first (`vmconsole.give_way`)
            entry = cache.get(g.id)
            if entry is None or now >= entry[0]:
                entry = self._guest_entry(g, now, visible)
                cache[g.id] = entry
            guests.append(entry[1])
            if entry[2] is not None:
                running_by_node[g.node].append(entry[2])
        # Nodes are always summed afresh: a node's figures are its guests' plus its own.
        nodes = tuple(self._node(node, running_by_node[name], name in visible, now)
                      for name, node in sim.nodes.items())
        give_way()
        own = next((quorum[n] for n in visible), None) if visible else None
        return Inventory(
            cluster=sim.cluster, nodes=nodes, guests=tuple(guests),
            storages=storages(sim, set(visible)),
            quorum=own or Quorum(0, len(sim.nodes), False), taken_at=now,
        )

    def _guest_entry(self, g: SimGuest, now: float, visible: frozenset[str]
                     ) -> tuple[float, Guest, Figures | None]:
        metrics, uptime, figures, valid_until = _IDLE, 0.0, None, _NEVER
        if g.node not in visible:
            status = GuestStatus.UNKNOWN
        else:
            inst = self.sim.nodes[g.node].instances.get(g.id)
            if inst is None or inst.incoming:
                status = GuestStatus.STOPPED
            else:
                status = GuestStatus.RUNNING
                grid = self._sample_time(now, g.load_index)
                sampled = max(grid, inst.since)
                valid_until = grid + self.interval
                uptime = sampled - inst.since
                f = self.load.figures(g.load_index, sampled, g.maxmem, uptime, g.boot_seconds)
                metrics = _new_metrics(*f)
                figures = (*f, f[0] * g.maxcpu)
        maxdisk = g.disk_bytes
        guest = _new_guest(
            g.id, g.name, g.kind, g.node, status, g.vmid, g.template, g.maxcpu, g.maxmem,
            maxdisk, int(maxdisk * g.disk_used_fraction), metrics, uptime,
            *_addresses(g, status), _ha_config(g, status), g.lock, g.tags, g.storages,
            fault_tolerance=_fault_tolerance(self.sim, g) if g.id in self.sim.ft else None,
        )
        return valid_until, guest, figures

    def _node(self, node: SimNode, running: list[Figures], online: bool, now: float) -> Node:
        if not online:
            return Node(node.name, NodeStatus.OFFLINE, node.maxcpu, node.maxmem, _IDLE,
                        ha_state=node.ha_state, address=node.address)
        # Column sums in C (zip, sum): a node of a 10,000-guest cluster runs ~100 guests.
        columns = list(zip(*running, strict=True)) if running else [()] * 7
        cores = NODE_BASE_CPU * node.maxcpu + sum(columns[6])
        mem = NODE_BASE_MEM + int(sum(columns[1]))
        disk_read, disk_write, net_in, net_out = (sum(columns[i]) for i in range(2, 6))
        # Incoming migrations hold their memory on the target before they run.
        for inst in node.instances.values():
            if inst.incoming:
                mem += self.sim.guests[inst.guest].maxmem
        metrics = Metrics(min(1.0, cores / node.maxcpu), min(mem, node.maxmem), disk_read,
                          disk_write, net_in, net_out)
        # Load averages lag the run queue: the 5 and 15 minute ones lean to a slow mean.
        drift = 1 + 0.1 * math.sin(now / 900 + node.index)
        load1 = cores * 1.05
        loadavg = (round(load1, 2), round(0.5 * load1 + 0.5 * cores * drift, 2),
                   round(0.2 * load1 + 0.8 * cores * drift, 2))
        return Node(node.name, NodeStatus.ONLINE, node.maxcpu, node.maxmem, metrics,
                    now - node.up_since, loadavg, node.ha_state, node.address)
