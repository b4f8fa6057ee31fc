"""Counters read from a host in one poll, and the rates between two polls.

`getAllDomainStats` gives everything in one call on real hypervisors; drivers that
return only `state.*` (the test driver) are read per domain instead.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import libvirt

from vmconsole.backends.counters import per_second
from vmconsole.backends.libvirt.domainxml import DomainDesc
from vmconsole.model import GuestStatus, Metrics

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


@dataclass(frozen=True, slots=True)
class Counters:
    """Cumulative counters at one moment (monotonic seconds)."""

    time: float
    cpu_ns: int = 0
    disk_read: int = 0
    disk_write: int = 0
    net_in: int = 0
    net_out: int = 0


@dataclass(frozen=True, slots=True)
class DomainReading:
    uuid: str
    state: int
    counters: Counters
    mem_used: int  # bytes
    disk_capacity: int  # bytes
    disk_allocation: int
    reason: int = 0  # why it is in its state: a virDomain*Reason of `state`

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


def from_bulk(uuid: str, record: dict[str, int], now: float) -> DomainReading | None:
    """A reading from `getAllDomainStats`; None when the driver gave only the state."""
    if "state.state" not in record or (
            "cpu.time" not in record and record["state.state"] in _ACTIVE):
        return None
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
    )


def per_domain(dom: libvirt.virDomain, uuid: str, desc: DomainDesc, now: float,
               reason: int = 0) -> DomainReading:
    """A reading from per-domain calls, for drivers whose bulk stats hold only the state
    (and its `reason`, which the caller read in bulk). `uuid` is the domain's, already
    read: a poll of a host of such a driver makes these calls for every domain."""
    state, _max_kib, mem_kib, _vcpus, cpu_ns = dom.info()
    if state not in _ACTIVE:
        return DomainReading(uuid, state, Counters(now), mem_kib * 1024, 0, 0, reason)
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
    )


def rates(before: Counters | None, after: Counters, cpus: int, mem_used: int) -> Metrics:
    """Per-second rates between two readings; cpu as a fraction of `cpus`."""
    if before is None:
        return Metrics(mem=mem_used)
    cpu_ns, disk_read, disk_write, net_in, net_out = per_second(
        (before.cpu_ns, before.disk_read, before.disk_write, before.net_in, before.net_out),
        (after.cpu_ns, after.disk_read, after.disk_write, after.net_in, after.net_out),
        after.time - before.time)
    return Metrics(cpu=min(1.0, cpu_ns / 1e9 / max(1, cpus)), mem=mem_used,
                   disk_read=disk_read, disk_write=disk_write, net_in=net_in, net_out=net_out)
