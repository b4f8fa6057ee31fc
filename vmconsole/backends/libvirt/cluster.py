"""The hosts of one libvirt cluster, their inventory, and finding a guest among them.

Guest ids are "vm/<UUID>": a name is unique only per host, while the UUID survives
migration and renaming. A UUID defined on several hosts is one row per copy,
"vm/<UUID>@<host>" (identity.py), and every action goes to the copy it names.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from urllib.parse import urlsplit

import libvirt

from vmconsole.backends.addresses import AddressReading
from vmconsole.backends.base import BackendError, Conflict, NotFound, Unreachable
from vmconsole.backends.bounded import Pending
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.libvirt.connection import Host, HostState
from vmconsole.backends.libvirt.domainbook import FULL_READ_S, DomainBook
from vmconsole.backends.libvirt.errors import libvirt_message
from vmconsole.backends.libvirt.events import EventLog, describe_lifecycle
from vmconsole.backends.libvirt.guestrows import GuestRows
from vmconsole.backends.libvirt.hostread import (
    DescCache,
    GuestEntry,
    HostReading,
    describe,
    read_host,
)
from vmconsole.backends.libvirt.identity import Row, guest_id_of, identify, parse_guest_id
from vmconsole.backends.libvirt.nodes import merge_nodes
from vmconsole.backends.libvirt.pools import PoolStates
from vmconsole.backends.libvirt.tasks import TaskBook
from vmconsole.config import LibvirtCluster
from vmconsole.model import (
    Guest,
    GuestStatus,
    Inventory,
    Metrics,
    Node,
    NodeStatus,
    Storage,
)

#: How long a poll waits for a host that is still connecting before it shows the others
#: (a remote host's first answer takes an SSH or TLS handshake; a hung one never comes).
CONNECT_GRACE_S = 1.0


@dataclass(slots=True)
class _Fetch:
    """One read of a host under way, on its own thread, and when it began (monotonic)."""

    pending: Pending[HostReading]
    started: float
    timed_out: bool = False


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
        # daemons on one machine are told apart by port; a node's qemu and lxc hosts
        # share its name (a node that never answers keeps it too)
        names = [(h.name, h.containers) for h in self.hosts]
        for host in self.hosts:
            if names.count((host.name, host.containers)) > 1:
                host.name = urlsplit(host.uri).netloc or host.uri
        self._caches = {id(h): DescCache() for h in self.hosts}
        # Which domains each host's next poll reads, from its lifecycle events, and how
        # often a host that delivers them is read in full (seconds; 0: every poll).
        self._books = {id(h): DomainBook() for h in self.hosts}
        self.full_read_s = FULL_READ_S
        self._fetches: dict[int, _Fetch] = {}
        self._last: dict[int, tuple[Node, tuple[Guest, ...]]] = {}
        self._rows = GuestRows()
        self._node_cpu: dict[int, tuple[int, int]] = {}
        # Hosts (by id) whose bulk stats hold only the state: read without them
        # (`read_host`'s `bulk`), until the host is lost (it may come back upgraded).
        self._state_only: set[int] = set()
        self._where: dict[str, Host] = {}  # uuid -> host, from the last inventory
        self.last_inventory = Inventory(cfg.name, (), ())
        # Pools refreshed on every read of a host, so that libvirt's state of the pool
        # says whether the host still reaches it (a failed refresh makes libvirt stop
        # the pool); a pool's error is kept while it stays inactive (pools.py).
        self.checked_pools: frozenset[str] = frozenset()
        self._pools = PoolStates()

    # --- change notification ----------------------------------------------------------

    def set_change_callback(self, callback: Callable[[], None] | None) -> None:
        """`callback()` runs (on a libvirt or task thread) whenever an event says the
        inventory changed: a poller uses it to poll again soon instead of waiting."""
        self._on_change = callback

    def changed(self) -> None:
        if (callback := self._on_change) is not None:
            callback()

    def _host_state(self, host: Host, state: HostState, message: str) -> None:
        kind = {HostState.LOST: EventKind.NODE_LOST, HostState.ACTIVE: EventKind.NODE_ONLINE}.get(
            state, EventKind.NODE_CONNECTING)
        if state is HostState.LOST:
            self.cache(host).drop()
            self._state_only.discard(id(host))
        self._books[id(host)].reset()  # events between connections are lost
        self.log.add(kind, message, node=host.name)
        self.changed()

    def _domain_event(self, host: Host, uuid: str, name: str, event: int, detail: int) -> None:
        self.cache(host).drop(uuid)
        self._books[id(host)].heard(uuid)
        kind, words = describe_lifecycle(event, detail)
        self.log.add(kind, f"{name} {words} on {host.name}", node=host.name,
                     guest=self.guest_id(host.name, uuid))
        self.changed()

    def guest_id(self, node: str, uuid: str) -> str:
        """The id of the domain `uuid` on `node` as the last inventory shows it."""
        copy = guest_id_of(uuid, node)
        return copy if self.last_inventory.guest(copy) is not None else guest_id_of(uuid)

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
        """The host running (or defining) a guest, and its domain: for one copy of
        several ("vm/<UUID>@<host>"), that host's. Raises NotFound, Unreachable, and
        Conflict for "vm/<UUID>" when the UUID is now defined on several hosts."""
        uuid, node = parse_guest_id(guest_id)
        if node is not None:
            host = self.host_named(node)
            return host, host.call(lambda c: c.lookupByUUIDString(uuid),
                                   f"looking up {guest_id} on {node}")
        copies = self.copies_of(uuid)
        if len(copies) > 1:
            raise Conflict(f"{guest_id} is defined on {' and '.join(g.node for g in copies)}:"
                           " choose the copy to act on")
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

    def copies_of(self, uuid: str) -> list[Guest]:
        """Every row of the last inventory for domain `uuid` (more than one: duplicates)."""
        return [g for g in self.last_inventory.guests if parse_guest_id(g.id)[0] == uuid]

    def running_elsewhere(self, uuid: str, host: Host) -> tuple[str, bool] | None:
        """Where another copy of domain `uuid` may run: (node, True) when that host
        says it runs; (node, False) when the host does not answer and the last
        inventory had a copy there that was not stopped; None when no copy can run."""
        for other in self.hosts:
            if other is host:
                continue
            if not other.active:
                if any(g.node == other.name and g.status is not GuestStatus.STOPPED
                       for g in self.copies_of(uuid)):
                    return other.name, False
                continue
            try:
                active = other.call(lambda c: c.lookupByUUIDString(uuid).isActive(),
                                    f"looking for {uuid} on {other.name}")
            except NotFound:
                continue
            except Unreachable:
                if any(g.node == other.name for g in self.copies_of(uuid)):
                    return other.name, False
                continue
            if active:
                return other.name, True
        return None

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
        """The console changed a definition: forget the cached one, read the domain at
        the next poll, poll soon."""
        self.cache(host).drop(uuid)
        self.acted(host, uuid)

    def left(self, host: Host, uuid: str) -> None:
        """The console undefined domain `uuid` on `host` (a migration with
        VIR_MIGRATE_UNDEFINE_SOURCE, a container's move, a delete): as `defined`, and
        gone from what the host defined when last read, which is all a poll shows of a
        host that stops answering before its next read (`_offline`). Kept, that copy
        would come back as a guest of unknown status, and make the one now running
        elsewhere a duplicate under another id (`identify`)."""
        with self._lock:
            last = self._last.get(id(host))
            if last is not None:
                self._last[id(host)] = (last[0], tuple(
                    g for g in last[1] if parse_guest_id(g.id)[0] != uuid))
        self.defined(host, uuid)

    def acted(self, host: Host, uuid: str) -> None:
        """The console changed a domain's state (start, stop...): read it at the next
        poll, poll soon. Its lifecycle event says so too, but on libvirt's event thread,
        which may deliver it after that poll has begun."""
        self._books[id(host)].heard(uuid)
        self.changed()

    # --- inventory --------------------------------------------------------------------

    def _fetch(self, host: Host) -> HostReading:
        """One read of the host (on its own thread; one at a time per host): every
        domain, or only those its events named (`DomainBook.due`)."""
        conn = host.ensure_connected(self._name_taken(host))
        book = self._books[id(host)]
        only = book.due(time.monotonic(), host.listening, self.full_read_s,
                        self.cache(host).uuids())
        with host.hold(conn):
            try:
                reading = read_host(conn, host.name, self.cache(host), self._checked(host),
                                    bulk=id(host) not in self._state_only, only=only)
                if reading.state_only:
                    self._state_only.add(id(host))
                return book.store(reading, only)
            except libvirt.libvirtError as exc:
                book.reset()  # the domains named for this read were not read
                if not conn.isAlive():
                    host.mark_lost(libvirt_message(exc))
                else:  # the host is there but this read failed: say so, try next poll
                    self.log.add(EventKind.NODE_ERROR,
                                 f"reading {host.name}: {libvirt_message(exc)}",
                                 node=host.name)
                raise

    def _checked(self, host: Host) -> frozenset[str]:
        """The pools this host's read refreshes: none for a node's containers' host when
        the node has a VMs' one too (one libvirtd with one set of pools, refreshed once)."""
        if host.containers and any(h.name == host.name and not h.containers
                                   for h in self.hosts):
            return frozenset()
        return self.checked_pools

    def inventory(self) -> Inventory:
        """Every host read in parallel, each on its own thread with its own deadline. A
        host that answered before is waited for up to the timeout; one still connecting
        only for `CONNECT_GRACE_S`, so a hung host never holds back the first sight of
        the others: it shows as connecting, then, at its timeout, offline with why.
        Calls are serialized: concurrent callers (the poller, a dialog's precondition
        check) would otherwise open a host twice."""
        with self._poll_lock:
            return self._poll()

    def _poll(self) -> Inventory:
        started = time.monotonic()
        for host in self.hosts:
            if id(host) not in self._fetches:  # else a read from before is still running
                self._fetches[id(host)] = _Fetch(
                    Pending(partial(self._fetch, host), f"poll-{host.name}"), started)
        nodes: list[Node] = []
        rows: list[Row] = []
        storages: list[Storage] = []
        counted: set[tuple[str, str]] = set()
        addresses = self.address_readings()
        for host in self.hosts:
            fetch = self._fetches[id(host)]
            deadline = fetch.started + self.cfg.timeout
            if not host.active:
                deadline = min(deadline, started + CONNECT_GRACE_S)
            reading = None
            try:
                reading = fetch.pending.wait(max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                if time.monotonic() - fetch.started >= self.cfg.timeout and not fetch.timed_out:
                    fetch.timed_out = True
                    host.mark_lost(f"no answer within {self.cfg.timeout:g} s")
            except (BackendError, libvirt.libvirtError):
                pass  # the host recorded why; it shows offline
            if fetch.pending.done:
                del self._fetches[id(host)]
            if reading is None:
                node, host_rows = self._offline(host, under_way=not fetch.pending.done)
            else:
                node, host_rows = self._online(host, reading, counted, addresses)
                storages.extend(reading.storages)
            nodes.append(node)
            rows.extend(host_rows)
        locks = self.tasks_book.locks()
        moving = {parse_guest_id(gid)[0] for gid, op in locks.items() if op == "migrate"}
        guests = [replace(g, lock=locks[g.id]) if g.id in locks else g
                  for g in identify(rows, self.last_inventory, moving, self.ha_placements())]
        inv = Inventory(self.cfg.name, merge_nodes(nodes), tuple(guests),
                        self._pools.merge(storages),
                        taken_at=time.time())
        self._rows.keep(counted)
        self.last_inventory = inv
        return inv

    def ha_placements(self) -> Mapping[str, str]:
        """UUID -> node where an HA manager has placed each of its guests (none here:
        `LibvirtBackend` reads its manager's status)."""
        return {}

    def address_readings(self) -> Mapping[str, AddressReading]:
        """Guest id -> the address sweep's last reading, merged into each Guest as it is
        built (none here: `LibvirtBackend` has the sweep)."""
        return {}

    def _offline(self, host: Host, under_way: bool) -> tuple[Node, list[Row]]:
        """A host not read this time: connecting (never answered, attempt under way),
        unknown (connected, but this read failed) or offline (lost), with why, since
        when and the next try (None while an attempt is still under way)."""
        last = self._last.get(id(host))
        maxcpu, maxmem = (last[0].maxcpu, last[0].maxmem) if last else (0, 0)
        rows = [Row(Guest(id=g.id, name=g.name, kind=g.kind, node=host.name,
                          status=GuestStatus.UNKNOWN, template=g.template, maxcpu=g.maxcpu,
                          maxmem=g.maxmem, maxdisk=g.maxdisk, addresses=g.addresses, ha=g.ha,
                          storages=g.storages), remembered=True)
                for g in (last[1] if last else [])]
        status = {HostState.ACTIVE: NodeStatus.UNKNOWN, HostState.LOST: NodeStatus.OFFLINE,
                  HostState.CONNECTING: NodeStatus.CONNECTING}[host.state]
        node = Node(host.name, status, maxcpu, maxmem, address=host.uri,
                    error=host.error or None, since=host.since,
                    next_try=None if under_way else host.next_try())
        return node, rows

    def _online(self, host: Host, reading: HostReading, counted: set[tuple[str, str]],
                addresses: Mapping[str, AddressReading]) -> tuple[Node, list[Row]]:
        """The host's node and its domains, each with its id "vm/<UUID>" (`identify`
        makes duplicates unique) and its `addresses` (the sweep's readings by guest id);
        `counted` gets the (host, UUID) counters kept."""
        # Per host, not per domain (2,000 on a host): one lock; after a read of some
        # domains, only theirs (one that is gone costs `locate` one failed lookup).
        with self._lock:
            if reading.fresh is None:
                self._where.update((entry.desc.uuid, host) for entry, _ in reading.guests)
            else:
                self._where.update((uuid, host) for uuid in reading.fresh)
        built = self._rows.build(host, reading, addresses)
        counted.update(built.keys)
        node_reading = reading.node
        cpu = 0.0
        if node_reading.cpu_busy_ns is not None and node_reading.cpu_total_ns is not None:
            busy, total = node_reading.cpu_busy_ns, node_reading.cpu_total_ns
            prev = self._node_cpu.get(id(host))
            if prev and total > prev[1]:
                cpu = (busy - prev[0]) / (total - prev[1])
            self._node_cpu[id(host)] = (busy, total)
        sums = built.sums
        mem = node_reading.mem_used if node_reading.mem_used is not None else sums.mem
        node = Node(host.name, NodeStatus.ONLINE, node_reading.maxcpu, node_reading.maxmem,
                    metrics=Metrics(cpu=min(1.0, max(0.0, cpu)), mem=mem,
                                    disk_read=sums.disk_read, disk_write=sums.disk_write,
                                    net_in=sums.net_in, net_out=sums.net_out),
                    address=host.uri,
                    storage_down=tuple(s.name for s in reading.storages
                                       if s.shared and not s.active))
        with self._lock:  # `left` edits it from a task's thread
            self._last[id(host)] = (node, built.guests)
        return node, list(built.rows)

    def close(self) -> None:
        for host in self.hosts:
            host.close()
