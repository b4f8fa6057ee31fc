"""One poll of one host: node figures, its domains' definitions and counters, pools.

Domain definitions are cached per host and dropped when an event says a domain changed
(or the console changed it), so a poll costs one `getAllDomainStats` plus, only where
the driver needs it, per-domain stats calls. A poll may read only some domains, those
events named (`domainbook.py`): then one `virDomainListGetStats` for them.
"""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import libvirt

from vmconsole.backends.libvirt.domainxml import DomainDesc, parse_domain
from vmconsole.backends.libvirt.errors import libvirt_message
from vmconsole.backends.libvirt.stats import DomainReading, from_bulk, per_domain, state_only
from vmconsole.model import Storage

# Pool types whose volumes every host of a cluster can see.
SHARED_POOL_TYPES = frozenset({"netfs", "iscsi", "iscsi-direct", "rbd", "gluster", "sheepdog",
                               "mpath", "vstorage"})


@dataclass(frozen=True, slots=True)
class NodeReading:
    maxcpu: int
    maxmem: int
    cpu_busy_ns: int | None  # None: the driver has no node CPU stats
    cpu_total_ns: int | None
    mem_used: int | None  # bytes; None: the driver has no node memory stats
    time: float


@dataclass(frozen=True, slots=True)
class GuestEntry:
    desc: DomainDesc
    storages: tuple[str, ...]  # pools holding the guest's disks


@dataclass(frozen=True, slots=True)
class HostReading:
    node: NodeReading
    guests: tuple[tuple[GuestEntry, DomainReading], ...]
    storages: tuple[Storage, ...]
    # The host's bulk stats held only the state (`stats.state_only`): read it with
    # `bulk=False` from now on.
    state_only: bool = False
    # The UUIDs read now when the poll read only some domains (`guests` holds the others
    # as last read: `DomainBook.store`); None when it read them all.
    fresh: frozenset[str] | None = None


class DescCache:
    """Parsed definitions by domain UUID, for one host."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, GuestEntry] = {}

    def get(self, uuid: str) -> GuestEntry | None:
        with self._lock:
            return self._entries.get(uuid)

    def put(self, uuid: str, entry: GuestEntry) -> None:
        with self._lock:
            self._entries[uuid] = entry

    def drop(self, uuid: str | None = None) -> None:
        with self._lock:
            if uuid is None:
                self._entries.clear()
            else:
                self._entries.pop(uuid, None)

    def keep_only(self, uuids: set[str]) -> None:
        with self._lock:
            for uuid in set(self._entries) - uuids:
                del self._entries[uuid]

    def entries(self) -> list[GuestEntry]:
        with self._lock:
            return list(self._entries.values())

    def uuids(self) -> frozenset[str]:
        """The UUIDs whose definition is cached."""
        with self._lock:
            return frozenset(self._entries)

    def by_uuid(self) -> dict[str, GuestEntry]:
        """A copy of the cache, UUID -> entry: a poll looks its 2,000 domains up in it
        without taking the lock for each."""
        with self._lock:
            return dict(self._entries)


def pool_of(conn: libvirt.virConnect, path: str) -> str | None:
    try:
        return str(conn.storageVolLookupByPath(path).storagePoolLookupByVolume().name())
    except libvirt.libvirtError:
        return None  # a disk outside every pool


def describe(conn: libvirt.virConnect, dom: libvirt.virDomain) -> GuestEntry:
    desc = parse_domain(dom.XMLDesc(0))
    pools = {d.pool if d.pool else pool_of(conn, d.source or "") for d in desc.image_disks}
    return GuestEntry(desc, tuple(sorted(p for p in pools if p)))


def _node(conn: libvirt.virConnect, now: float) -> NodeReading:
    info = conn.getInfo()
    busy = total = mem_used = None
    try:
        cpu = conn.getCPUStats(libvirt.VIR_NODE_CPU_STATS_ALL_CPUS)
        busy = cpu.get("kernel", 0) + cpu.get("user", 0)
        total = busy + cpu.get("idle", 0) + cpu.get("iowait", 0)
    except libvirt.libvirtError:
        pass
    try:
        mem = conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS)
        free = mem.get("free", 0) + mem.get("buffers", 0) + mem.get("cached", 0)
        mem_used = (mem["total"] - free) * 1024
    except (libvirt.libvirtError, KeyError):
        pass
    return NodeReading(maxcpu=info[2], maxmem=info[1] * 1024**2, cpu_busy_ns=busy,
                       cpu_total_ns=total, mem_used=mem_used, time=now)


def _refresh(pool: libvirt.virStoragePool) -> str | None:
    """Refresh an active pool (`virsh pool-refresh`): libvirt reaches its storage again
    and, if that fails, stops the pool (virStoragePoolRefresh). Returns libvirt's error,
    None when the pool is reachable or was inactive already."""
    if not pool.isActive():
        return None
    try:
        pool.refresh(0)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID:
            return None  # stopped meanwhile (another refresh failed): not a reason of its own
        return libvirt_message(exc)
    return None


def _pools(conn: libvirt.virConnect, node: str, checked: frozenset[str]) -> tuple[Storage, ...]:
    """Every pool of the host; those named in `checked` are refreshed first, so their
    state says whether the host reaches them now (and an error, why not)."""
    out = []
    for pool in conn.listAllStoragePools():
        error = _refresh(pool) if pool.name() in checked else None
        kind = ET.fromstring(pool.XMLDesc(0)).get("type", "dir")
        state, capacity, allocation, _available = pool.info()
        out.append(Storage(
            id=f"storage/{node}/{pool.name()}", name=pool.name(), type=kind,
            shared=kind in SHARED_POOL_TYPES, total=capacity, used=allocation, node=node,
            active=state == libvirt.VIR_STORAGE_POOL_RUNNING,
            error=error if state != libvirt.VIR_STORAGE_POOL_RUNNING else None,
        ))
    return tuple(sorted(out, key=lambda s: s.name))


# A poll never waits for a domain's job: without it, libvirt waits up to 30 s for each
# busy domain (the incoming end of a migration holds its job until the end), past the
# host's timeout, and a busy host would be marked lost. A busy domain's record then
# lacks its monitor's figures (`stats.busy`).
_NOWAIT = libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT


def _all_stats(conn: libvirt.virConnect, bulk: bool
               ) -> list[tuple[libvirt.virDomain, dict[str, int]]]:
    """Every domain with its bulk stats; the LXC driver has no bulk stats, and its
    domains come with none (they are then read one by one), as do those of a host
    read without `bulk`."""
    if bulk:
        try:
            return list(conn.getAllDomainStats(0, _NOWAIT))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
                raise
    return [(dom, {}) for dom in conn.listAllDomains(0)]


def _some_stats(conn: libvirt.virConnect, uuids: frozenset[str], bulk: bool
                ) -> list[tuple[libvirt.virDomain, dict[str, int]]]:
    """`_all_stats` of the domains `uuids` that are still defined."""
    doms = []
    for uuid in uuids:
        try:
            doms.append(conn.lookupByUUIDString(uuid))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise
    if bulk and doms:
        try:
            return list(conn.domainListGetStats(doms, 0, _NOWAIT))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
                raise
    return [(dom, {}) for dom in doms]


def read_host(conn: libvirt.virConnect, node: str, cache: DescCache,
              checked_pools: frozenset[str] = frozenset(), bulk: bool = True,
              only: frozenset[str] | None = None) -> HostReading:
    """Everything the inventory needs from one host, the pools named in
    `checked_pools` refreshed first. Blocks: run it bounded.

    `bulk`: False for a host whose bulk stats held only the state (its last reading's
    `state_only`, libvirt's test driver): its domains are then listed instead
    (`virConnectListAllDomains`), for the same figures read one by one, without a stats
    record per domain that says only what `virDomainGetInfo` says again.
    `only`: the UUIDs of the domains to read (those still defined), None for all; the
    reading's `fresh` is then `only`, for `DomainBook.store` to merge."""
    now = time.monotonic()
    guests = []
    seen = set()
    known = cache.by_uuid()
    records = _all_stats(conn, bulk) if only is None else _some_stats(conn, only, bulk)
    for dom, record in records:
        uuid = dom.UUIDString()
        try:
            entry = known.get(uuid)
            if entry is None:
                entry = describe(conn, dom)
                cache.put(uuid, entry)
            reading = from_bulk(uuid, record, now) or per_domain(
                dom, uuid, entry.desc, record.get("state.reason"))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                continue  # undefined (or migrated away) while this poll ran
            raise
        seen.add(uuid)
        guests.append((entry, reading))
    if only is not None:  # the others were not read: their entries stay
        return HostReading(_node(conn, now), tuple(guests), _pools(conn, node, checked_pools),
                           fresh=only)
    cache.keep_only(seen)
    return HostReading(_node(conn, now), tuple(guests), _pools(conn, node, checked_pools),
                       state_only=bulk and state_only(records))
