"""The hosts of one libvirt cluster, their inventory, and finding a guest among them.

Guest ids are "vm/<UUID>": a name is unique only per host, while the UUID is unique in
the cluster (clones get new ones) and survives migration and renaming.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial

import libvirt

from vmconsole.backends.base import BackendError, NotFound, Unreachable
from vmconsole.backends.libvirt.bounded import Pending
from vmconsole.backends.libvirt.connection import Host, HostState
from vmconsole.backends.libvirt.errors import libvirt_message
from vmconsole.backends.libvirt.events import EventLog, describe_lifecycle
from vmconsole.backends.libvirt.hostread import (
    DescCache,
    GuestEntry,
    HostReading,
    describe,
    read_host,
)
from vmconsole.backends.libvirt.nodes import merge_nodes
from vmconsole.backends.libvirt.stats import Counters, guest_status, rates
from vmconsole.backends.libvirt.tasks import TaskBook
from vmconsole.config import LibvirtCluster
from vmconsole.model import (
    Guest,
    GuestKind,
    GuestStatus,
    HAConfig,
    HARequest,
    HAState,
    Inventory,
    Metrics,
    Node,
    NodeStatus,
    Storage,
    total_metrics,
)

GUEST_PREFIX = "vm/"


def guest_id_of(uuid: str) -> str:
    return f"{GUEST_PREFIX}{uuid}"


def uuid_of(guest_id: str) -> str:
    if not guest_id.startswith(GUEST_PREFIX):
        raise NotFound(f"{guest_id!r} is not a libvirt guest id (vm/<UUID>)")
    return guest_id[len(GUEST_PREFIX):]


def _ha_config(request: HARequest, settings_group: str | None, nodes: tuple[str, ...],
               max_restart: int, max_relocate: int, status: GuestStatus) -> HAConfig:
    # Nothing acts on HA here yet: the state says what the guest is, next to the request.
    state = {HARequest.DISABLED: HAState.DISABLED, HARequest.IGNORED: HAState.IGNORED}.get(
        request, HAState.STARTED if status is GuestStatus.RUNNING else HAState.STOPPED)
    return HAConfig(request, state, settings_group, nodes, max_restart, max_relocate)


class ClusterCore:
    def __init__(self, cfg: LibvirtCluster) -> None:
        self.cfg = cfg
        self.log = EventLog()
        self.tasks_book = TaskBook()
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._on_change: Callable[[], None] | None = None
        self.hosts = [Host(uri, cfg.timeout, self._host_state, self._domain_event)
                      for uri in cfg.uris]
        self._caches = {id(h): DescCache() for h in self.hosts}
        self._fetches: dict[int, Pending[HostReading]] = {}
        self._last: dict[int, tuple[Node, list[Guest]]] = {}
        self._counters: dict[str, Counters] = {}
        self._node_cpu: dict[int, tuple[int, int]] = {}
        self._where: dict[str, Host] = {}  # uuid -> host, from the last inventory
        self.last_inventory = Inventory(cfg.name, (), ())

    # --- change notification ----------------------------------------------------------

    def set_change_callback(self, callback: Callable[[], None] | None) -> None:
        """`callback()` runs (on a libvirt or task thread) whenever an event says the
        inventory changed: a poller uses it to poll again soon instead of waiting."""
        self._on_change = callback

    def changed(self) -> None:
        if (callback := self._on_change) is not None:
            callback()

    def _host_state(self, host: Host, state: HostState, message: str) -> None:
        kind = {HostState.LOST: "node_lost", HostState.ACTIVE: "node_online"}.get(
            state, "node_connecting")
        if state is HostState.LOST:
            self.cache(host).drop()
        self.log.add(kind, message, node=host.name)
        self.changed()

    def _domain_event(self, host: Host, uuid: str, name: str, event: int, detail: int) -> None:
        self.cache(host).drop(uuid)
        kind, words = describe_lifecycle(event, detail)
        self.log.add(kind, f"{name} {words} on {host.name}", node=host.name,
                     guest=guest_id_of(uuid))
        self.changed()

    # --- hosts ------------------------------------------------------------------------

    def cache(self, host: Host) -> DescCache:
        return self._caches[id(host)]

    def _name_taken(self, host: Host) -> Callable[[str], bool]:
        # A node's qemu and lxc hosts share its name: one node, VMs and containers.
        return lambda name: any(h.name == name for h in self.hosts
                                if h is not host and h.containers == host.containers)

    def host_named(self, node: str, containers: bool | None = None) -> Host:
        """The node's host (its first, or its containers' or its VMs' one)."""
        for host in self.hosts:
            if host.name == node and containers in (None, host.containers):
                return host
        known = ", ".join(h.name for h in self.hosts)
        raise NotFound(f"no node {node!r} in {self.cfg.name} (nodes: {known})")

    def locate(self, guest_id: str) -> tuple[Host, libvirt.virDomain]:
        """The host running (or defining) a guest, and its domain."""
        uuid = uuid_of(guest_id)
        with self._lock:
            first = self._where.get(uuid)
        candidates = [first] if first else []
        candidates += [h for h in self.hosts if h is not first and h.active]
        for host in candidates:
            try:
                return host, host.call(lambda c: c.lookupByUUIDString(uuid),
                                       f"looking up {guest_id} on {host.name}")
            except NotFound:
                continue
            except Unreachable:
                if host is first:
                    raise
        raise NotFound(f"no guest {guest_id} on any reachable node of {self.cfg.name}")

    def describe(self, host: Host, dom: libvirt.virDomain) -> GuestEntry:
        """A domain's parsed definition, from the cache when no event has changed it."""
        cache = self.cache(host)
        uuid = dom.UUIDString()
        entry = cache.get(uuid)
        if entry is None:
            entry = host.call(lambda c: describe(c, dom), f"reading {dom.name()}")
            cache.put(uuid, entry)
        return entry

    def defined(self, host: Host, uuid: str) -> None:
        """The console changed a definition: forget the cached one, poll soon."""
        self.cache(host).drop(uuid)
        self.changed()

    # --- inventory --------------------------------------------------------------------

    def _fetch(self, host: Host) -> HostReading:
        conn = host.ensure_connected(self._name_taken(host))
        with host.hold(conn):
            try:
                return read_host(conn, host.name, self.cache(host))
            except libvirt.libvirtError as exc:
                if not conn.isAlive():
                    host.mark_lost(libvirt_message(exc))
                else:  # the host is there but this read failed: say so, try next poll
                    self.log.add("node_error", f"reading {host.name}: {libvirt_message(exc)}",
                                 node=host.name)
                raise

    def inventory(self) -> Inventory:
        """Every host read in parallel; a host that has not answered by the timeout shows
        offline with its guests unknown, and a host still stuck from an earlier poll is
        not waited for at all. Calls are serialized: concurrent callers (the poller, a
        dialog's precondition check) would otherwise open a host twice."""
        with self._poll_lock:
            return self._poll()

    def _poll(self) -> Inventory:
        started = time.monotonic()
        waiting: list[tuple[Host, Pending[HostReading] | None]] = []
        for host in self.hosts:
            pending = self._fetches.get(id(host))
            if pending is not None and not pending.done:
                waiting.append((host, None))  # still hung from before
                continue
            pending = Pending(partial(self._fetch, host), f"poll-{host.name}")
            self._fetches[id(host)] = pending
            waiting.append((host, pending))
        nodes: list[Node] = []
        guests: list[Guest] = []
        storages: list[Storage] = []
        for host, pending in waiting:
            reading = None
            if pending is not None:
                try:
                    reading = pending.wait(max(0.0, started + self.cfg.timeout
                                               - time.monotonic()))
                except TimeoutError:
                    host.mark_lost(f"no answer within {self.cfg.timeout:g} s")
                except (BackendError, libvirt.libvirtError):
                    pass  # the host recorded why; it shows offline
            if reading is None:
                node, host_guests = self._offline(host)
            else:
                node, host_guests = self._online(host, reading)
                storages.extend(reading.storages)
            nodes.append(node)
            guests.extend(host_guests)
        # a node's qemu and lxc hosts may be one libvirtd, listing its pools twice
        unique = tuple({s.id: s for s in storages}.values())
        inv = Inventory(self.cfg.name, merge_nodes(nodes), tuple(guests), unique,
                        taken_at=time.time())
        present = {g.id.removeprefix(GUEST_PREFIX) for g in guests}
        for uuid in set(self._counters) - present:
            del self._counters[uuid]  # undefined guests: no rate to compute any more
        self.last_inventory = inv
        return inv

    def _offline(self, host: Host) -> tuple[Node, list[Guest]]:
        last = self._last.get(id(host))
        maxcpu, maxmem = (last[0].maxcpu, last[0].maxmem) if last else (0, 0)
        guests = [Guest(id=g.id, name=g.name, kind=g.kind, node=host.name,
                        status=GuestStatus.UNKNOWN, template=g.template, maxcpu=g.maxcpu,
                        maxmem=g.maxmem, maxdisk=g.maxdisk, ip=g.ip, ha=g.ha,
                        storages=g.storages) for g in (last[1] if last else [])]
        # An active host whose read failed is there but unread; a lost one is offline.
        status = NodeStatus.UNKNOWN if host.active else NodeStatus.OFFLINE
        node = Node(host.name, status, maxcpu, maxmem, address=host.uri)
        return node, guests

    def _online(self, host: Host, reading: HostReading) -> tuple[Node, list[Guest]]:
        guests = []
        for entry, dom in reading.guests:
            desc = entry.desc
            status = guest_status(dom.state)
            before = self._counters.get(desc.uuid)
            self._counters[desc.uuid] = dom.counters
            metrics = (rates(before, dom.counters, desc.vcpus, dom.mem_used)
                       if status is not GuestStatus.STOPPED else Metrics())
            ha = desc.meta.ha
            gid = guest_id_of(desc.uuid)
            guests.append(Guest(
                id=gid, name=desc.name, node=host.name, status=status,
                kind=GuestKind.CT if host.containers else GuestKind.VM,
                template=desc.meta.template, maxcpu=desc.vcpus, maxmem=desc.memory,
                maxdisk=dom.disk_capacity, disk=dom.disk_allocation, metrics=metrics,
                ip=desc.meta.ip, lock=self.tasks_book.lock_of(gid), storages=entry.storages,
                ha=None if ha is None else _ha_config(ha.request, ha.group, ha.nodes,
                                                      ha.max_restart, ha.max_relocate,
                                                      status),
            ))
            with self._lock:
                self._where[desc.uuid] = host
        node_reading = reading.node
        cpu = 0.0
        if node_reading.cpu_busy_ns is not None and node_reading.cpu_total_ns is not None:
            busy, total = node_reading.cpu_busy_ns, node_reading.cpu_total_ns
            prev = self._node_cpu.get(id(host))
            if prev and total > prev[1]:
                cpu = (busy - prev[0]) / (total - prev[1])
            self._node_cpu[id(host)] = (busy, total)
        sums = total_metrics(g.metrics for g in guests)
        mem = node_reading.mem_used if node_reading.mem_used is not None else sums.mem
        node = Node(host.name, NodeStatus.ONLINE, node_reading.maxcpu, node_reading.maxmem,
                    metrics=Metrics(cpu=min(1.0, max(0.0, cpu)), mem=mem,
                                    disk_read=sums.disk_read, disk_write=sums.disk_write,
                                    net_in=sums.net_in, net_out=sums.net_out),
                    address=host.uri)
        self._last[id(host)] = (node, guests)
        return node, guests

    def close(self) -> None:
        for host in self.hosts:
            host.close()
