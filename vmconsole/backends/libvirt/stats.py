"""Counters read from a host in one poll, and the rates between two polls.

`getAllDomainStats` gives everything in one call on real hypervisors; drivers that
return only `state.*` (the test driver) are read per domain instead.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from typing import NamedTuple

import libvirt

from vmconsole.backends.counters import per_second
from vmconsole.backends.libvirt.domainxml import DomainDesc
from vmconsole.model import GuestStatus

_STATUS = {
    libvirt.VIR_DOMAIN_NOSTATE: GuestStatus.UNKNOWN,
    libvirt.VIR_DOMAIN_RUNNING: GuestStatus.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: GuestStatus.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: GuestStatus.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: GuestStatus.RUNNING,  # shutting down: still up
    libvirt.VIR_DOMAIN_SHUTOFF: GuestStatus.STOPPED,
    libvirt.VIR_DOMAIN_CRASHED: GuestStatus.STOPPED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: GuestStatus.PAUSED,
}

# Why a domain is paused, in libvirt's terms (virDomainPausedReason), for people.
_PAUSED_BECAUSE = {
    libvirt.VIR_DOMAIN_PAUSED_USER: "by the user",
    libvirt.VIR_DOMAIN_PAUSED_MIGRATION: "migrating",
    libvirt.VIR_DOMAIN_PAUSED_SAVE: "saving",
    libvirt.VIR_DOMAIN_PAUSED_DUMP: "dumping its memory",
    libvirt.VIR_DOMAIN_PAUSED_IOERROR: "I/O error",
    libvirt.VIR_DOMAIN_PAUSED_WATCHDOG: "watchdog",
    libvirt.VIR_DOMAIN_PAUSED_FROM_SNAPSHOT: "restored from a snapshot",
    libvirt.VIR_DOMAIN_PAUSED_SHUTTING_DOWN: "shutting down",
    libvirt.VIR_DOMAIN_PAUSED_SNAPSHOT: "taking a snapshot",
    libvirt.VIR_DOMAIN_PAUSED_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_PAUSED_STARTING_UP: "starting up",
    libvirt.VIR_DOMAIN_PAUSED_POSTCOPY: "post-copy migration",
    libvirt.VIR_DOMAIN_PAUSED_POSTCOPY_FAILED: "post-copy migration failed",
}


def paused_because(state: int, reason: int) -> str | None:
    """Why a paused domain is paused ("I/O error" for VIR_DOMAIN_PAUSED_IOERROR: a disk
    with error_policy "stop" got an error), None for any other state or an unknown
    reason (virDomainGetState's reason, virDomainPausedReason)."""
    if state != libvirt.VIR_DOMAIN_PAUSED:
        return None
    return _PAUSED_BECAUSE.get(reason)


# States in which a domain has a QEMU process, and so counters to read.
_ACTIVE = frozenset({libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED,
                     libvirt.VIR_DOMAIN_PAUSED})


def guest_status(state: int) -> GuestStatus:
    return _STATUS.get(state, GuestStatus.UNKNOWN)


# Counters and DomainReading are named tuples, not frozen dataclasses: a host without
# bulk stats makes one of each per domain and poll (2,000 on a host), and a frozen
# dataclass's __init__ sets each field through object.__setattr__, three times the cost.
class Counters(NamedTuple):
    """Cumulative counters at one moment (monotonic seconds); after `time`, in the
    order `rates` takes them: CPU ns, disk bytes read and written, network bytes in
    and out."""

    time: float
    cpu_ns: int = 0
    disk_read: int = 0
    disk_write: int = 0
    net_in: int = 0
    net_out: int = 0


class DomainReading(NamedTuple):
    """One domain's state and figures as one poll read them."""

    uuid: str
    state: int
    counters: Counters
    mem_used: int  # bytes
    disk_capacity: int  # bytes
    disk_allocation: int
    reason: int = 0  # why it is in its state: a virDomain*Reason of `state`
    # False: the record lacked what only the domain's job gives (`busy`), so its
    # counters, memory and disk figures are not a reading: they show as last read.
    counted: bool = True
    # False: nothing said how big its disks are (the per-domain calls read no sizes; a
    # bulk record without `block.N.capacity`): the sizes of 0 are not a reading.
    disk_sized: bool = True

    @property
    def migrating(self) -> bool:
        """Paused because a migration is under way: the incoming end of one, or its
        source in the stop-and-copy phase."""
        return (self.state == libvirt.VIR_DOMAIN_PAUSED
                and self.reason in (libvirt.VIR_DOMAIN_PAUSED_MIGRATION,
                                    libvirt.VIR_DOMAIN_PAUSED_POSTCOPY))


def _sum(record: dict[str, int], count_key: str, field: str) -> int:
    count = int(record.get(count_key, 0))
    if not count:  # a shut-off domain's: asked six times per domain and poll
        return 0
    prefix = count_key.split(".")[0]
    return sum(int(record.get(f"{prefix}.{i}.{field}", 0)) for i in range(count))


def _balloon_used(record: dict[str, int]) -> int | None:
    """Guest memory in use in KiB, as the guest's balloon driver reports it (its
    available minus usable memory); None before the guest has reported. QEMU's RSS is
    not used: it counts QEMU itself and can exceed the guest's size."""
    available, usable = record.get("balloon.available"), record.get("balloon.usable")
    if available is not None and usable is not None:
        return int(available) - int(usable)
    return None


_STATE_KEYS = frozenset({"state.state", "state.reason"})


def state_only(records: Iterable[tuple[object, dict[str, int]]]) -> bool:
    """Whether `getAllDomainStats` records are a driver's that has no stats group but
    the state (libvirt 9's test driver): every record holds `state.*` alone, and one at
    least is an active domain's (a shut-off domain has no counters on any driver)."""
    records = list(records)
    return (all(record.keys() <= _STATE_KEYS for _, record in records)
            and any(record.get("state.state") in _ACTIVE for _, record in records))


def busy(record: dict[str, int]) -> bool:
    """Whether a record read with VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT lacks what
    libvirt reads under the domain's job, because another job held it (the incoming end
    of a migration holds it to the end): an active domain's record without the
    process's RSS, which comes with the balloon's figures, and without any disk's I/O
    counters (qemuConnectGetAllDomainStats, `HAVE_JOB`; an empty drive has none even
    with the job). CPU time and network counters come without the job."""
    if record.get("state.state") not in _ACTIVE or "balloon.rss" in record:
        return False
    return not any(f"block.{i}.rd.bytes" in record
                   for i in range(int(record.get("block.count", 0))))


def from_bulk(uuid: str, record: dict[str, int], now: float) -> DomainReading | None:
    """A reading from `getAllDomainStats`; None when the driver gave only the state.
    A `busy` record gives its state and reason, with `counted` False."""
    if "state.state" not in record or (
            "cpu.time" not in record and record["state.state"] in _ACTIVE):
        return None
    if busy(record):
        return DomainReading(uuid, int(record["state.state"]), Counters(now), 0, 0, 0,
                             int(record.get("state.reason", 0)), counted=False,
                             disk_sized=False)
    current = int(record.get("balloon.current", 0))  # the memory the guest has now
    used = _balloon_used(record)
    used = current if used is None else min(used, current) if current else used
    return DomainReading(
        uuid=uuid,
        state=int(record.get("state.state", 0)),
        counters=Counters(
            time=now,
            cpu_ns=int(record.get("cpu.time", 0)),
            disk_read=_sum(record, "block.count", "rd.bytes"),
            disk_write=_sum(record, "block.count", "wr.bytes"),
            net_in=_sum(record, "net.count", "rx.bytes"),
            net_out=_sum(record, "net.count", "tx.bytes"),
        ),
        mem_used=used * 1024,
        disk_capacity=(capacity := _sum(record, "block.count", "capacity")),
        # a qcow2 file holding snapshots' RAM grows past its disk's size: show the disk
        disk_allocation=min(_sum(record, "block.count", "allocation"), capacity),
        reason=int(record.get("state.reason", 0)),
        disk_sized=not (disks := int(record.get("block.count", 0))) or any(
            f"block.{i}.capacity" in record for i in range(disks)),
    )


def per_domain(dom: libvirt.virDomain, uuid: str, desc: DomainDesc,
               reason: int | None = None) -> DomainReading:
    """A reading from per-domain calls, for drivers whose bulk stats hold only the state
    (and its `reason`, when the caller read it in bulk; None: asked here of a paused
    domain, the one state whose reason the console shows). `uuid` is the domain's,
    already read: a poll of a host of such a driver makes these calls for every domain.

    Its time is the domain's own (monotonic seconds, as `virDomainGetInfo` was asked),
    not the poll's: 2,000 domains read one by one take tens of milliseconds, which
    vary from poll to poll, and a time shared by all of them would put that variation
    into every domain's rates. It is taken before the call, not after: libvirt-python
    lets go of the GIL for the call, and the wait to take it back (another thread's
    work) would count as the domain's."""
    now = time.monotonic()
    state, _max_kib, mem_kib, _vcpus, cpu_ns = dom.info()
    if reason is None:
        reason = dom.state()[1] if state == libvirt.VIR_DOMAIN_PAUSED else 0
    if state not in _ACTIVE:
        return DomainReading(uuid, state, Counters(now), mem_kib * 1024, 0, 0, reason,
                             disk_sized=False)
    disk_read = disk_write = net_in = net_out = 0
    for disk in desc.image_disks:
        _rd_req, rd_bytes, _wr_req, wr_bytes, _errs = dom.blockStats(disk.target)
        disk_read += rd_bytes
        disk_write += wr_bytes
    for mac in desc.macs:
        stats = dom.interfaceStats(mac)
        net_in += stats[0]
        net_out += stats[4]
    used = mem_kib
    if desc.balloon:
        with contextlib.suppress(libvirt.libvirtError):
            used = _balloon_used({f"balloon.{k}": v for k, v in dom.memoryStats().items()}
                                 ) or mem_kib
    return DomainReading(
        uuid=uuid,
        state=state,
        counters=Counters(now, cpu_ns, disk_read, disk_write, net_in, net_out),
        mem_used=used * 1024,
        disk_capacity=0,
        disk_allocation=0,
        reason=reason,
        disk_sized=False,
    )


#: Decimal places a guest's cpu fraction is kept to: 0.01 % of its vCPUs, ten times
#: finer than the console shows (`ui.formatting.percent`, 0.1 %). Finer digits are the
#: jitter of the readings' times; kept, they would make a guest at a steady rate (a
#: busy loop at 100 %) a changed guest on every poll.
CPU_PLACES = 4

#: `Metrics`' fields in its order: cpu (a fraction), memory used (bytes), disk read
#: and written, network in and out (bytes per second).
Figures = tuple[float, int, float, float, float, float]


def rates(before: Counters | None, after: Counters, cpus: int, mem_used: int) -> Figures:
    """Per-second rates between two readings, as `Metrics(*figures)` takes them: cpu
    as a fraction of `cpus`, rounded to `CPU_PLACES`, at most 1. A tuple, not Metrics:
    the caller compares it with the last poll's and makes a Metrics only when it
    differs (a frozen dataclass costs more to make than the whole comparison)."""
    if before is None:
        return (0.0, mem_used, 0.0, 0.0, 0.0, 0.0)
    cpu_ns, disk_read, disk_write, net_in, net_out = per_second(
        before[1:], after[1:], after.time - before.time)
    return (round(min(1.0, cpu_ns / 1e9 / max(1, cpus)), CPU_PLACES), mem_used,
            disk_read, disk_write, net_in, net_out)
