"""The guests of one host's reading: a Guest per domain, the very object of the poll
before while what it shows is as it was (its definition, state, figures, uptime and
addresses), so that the poller's diff and history skip it by identity and the view has
nothing to draw (2,000 idle domains, or 2,000 at a steady rate, cost no comparison and
no new object)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vmconsole.backends.addresses import AddressReading, merged_fields
from vmconsole.backends.libvirt.connection import Host
from vmconsole.backends.libvirt.hostread import GuestEntry, HostReading
from vmconsole.backends.libvirt.identity import Row, guest_id_of
from vmconsole.backends.libvirt.stats import (
    Counters,
    DomainReading,
    Figures,
    guest_status,
    paused_because,
    rates,
)
from vmconsole.backends.libvirt.uptime import domain_uptime, pid_file, run_dir, unreported_why
from vmconsole.model import (
    AddressSource,
    Guest,
    GuestAddress,
    GuestKind,
    GuestStatus,
    HAConfig,
    HARequest,
    HAState,
    Metrics,
    total_metrics,
)

_STOPPED: Figures = (0.0, 0, 0.0, 0.0, 0.0, 0.0)  # a stopped guest's Metrics()

#: (host name, domain UUID): two copies of one UUID on two hosts count apart.
Key = tuple[str, str]


def _ha_config(request: HARequest, settings_group: str | None, nodes: tuple[str, ...],
               max_restart: int, max_relocate: int, status: GuestStatus) -> HAConfig:
    # Nothing acts on HA here yet: the state says what the guest is, next to the request.
    state = {HARequest.DISABLED: HAState.DISABLED, HARequest.IGNORED: HAState.IGNORED}.get(
        request, HAState.STARTED if status is GuestStatus.RUNNING else HAState.STOPPED)
    return HAConfig(request, state, settings_group, nodes, max_restart, max_relocate)


@dataclass(frozen=True, slots=True)
class _Built:
    """The Guest made from one domain's reading, and what it was made from."""

    entry: GuestEntry  # the cached definition (the same object while the XML is)
    reading: tuple[int, int, int, int, int, bool]  # state, reason, memory, disks
    figures: Figures  # its Metrics': the same at a steady rate (`stats.CPU_PLACES`)
    uptime: float | None
    row: Row  # its Guest, and whether it was paused for a migration
    address: AddressReading | None  # the sweep's reading merged into the Guest


@dataclass(frozen=True, slots=True)
class _Host:
    """What every guest of one host's reading shares."""

    name: str
    kind: GuestKind
    containers: bool
    # Where the host's libvirt run directory is on this machine (its pid files give the
    # guests' uptime), None for a remote host, and then why there is no uptime.
    run: Path | None
    no_uptime: str | None
    now: float  # epoch seconds


@dataclass(frozen=True, slots=True)
class HostRows:
    """One host's guests as one poll built them, and their figures' sums."""

    guests: tuple[Guest, ...]
    rows: tuple[Row, ...]
    sums: Metrics  # `total_metrics` of the guests
    keys: tuple[Key, ...]
    # The address sweep's reading of each guest as the poll found it (before a reading
    # of another state was dropped), to tell whether a poll that read no domain has
    # new addresses to show.
    addresses: tuple[AddressReading | None, ...]


class GuestRows:
    """The guests of every host of a cluster, poll after poll (one poll at a time)."""

    def __init__(self) -> None:
        self._counters: dict[Key, Counters] = {}  # the last reading of each domain's
        self._built: dict[Key, _Built] = {}
        self._hosts: dict[int, HostRows] = {}  # id(host) -> its last rows

    def build(self, host: Host, reading: HostReading,
              addresses: Mapping[str, AddressReading]) -> HostRows:
        """The host's guests from `reading`, each with its id "vm/<UUID>" (`identify`
        makes duplicates unique) and the address sweep's reading merged (`addresses`,
        by guest id). A domain the reading did not read now (not in its `fresh`) keeps
        its figures as last read. After a read of no domain, the poll before's rows,
        with a new Guest only for a guest with a new address reading."""
        last = self._hosts.get(id(host))
        if (reading.fresh is not None and not reading.fresh and last is not None
                and len(last.guests) == len(reading.guests)):
            rows = self._readdressed(host, last, reading, addresses)
        else:
            rows = self._build(host, reading, addresses)
        self._hosts[id(host)] = rows
        return rows

    def keep(self, keys: set[Key]) -> None:
        """Forget the domains not in `keys` (undefined, or on a host not read)."""
        for key in set(self._counters) - keys:
            del self._counters[key]  # undefined guests: no rate to compute any more
            self._built.pop(key, None)

    @staticmethod
    def _host(host: Host) -> _Host:
        run = run_dir(host.uri)  # one parse of the URI per host and poll
        return _Host(host.name, GuestKind.CT if host.containers else GuestKind.VM,
                     host.containers, run, unreported_why(host.uri) if run is None else None,
                     time.time())

    def _readdressed(self, host: Host, last: HostRows, reading: HostReading,
                     addresses: Mapping[str, AddressReading]) -> HostRows:
        """`last`, the host's domains all as they were (a read of none of them), with the
        guests whose address reading is a new one built again (the sweep reads a few
        guests at a time; 2,000 guests built again for each would cost a full read)."""
        stale = [i for i, (g, a) in enumerate(zip(last.guests, last.addresses, strict=True))
                 if addresses.get(g.id) is not a]
        if not stale:
            return last
        shared = self._host(host)
        guests, rows, seen = list(last.guests), list(last.rows), list(last.addresses)
        for i in stale:
            entry, dom = reading.guests[i]
            if last.keys[i] != (host.name, entry.desc.uuid):  # not the domains of `last`
                return self._build(host, reading, addresses)
            rows[i], seen[i] = self._row(shared, entry, dom, reading.fresh, addresses)
            guests[i] = rows[i].guest
        # Not read, so their figures are as they were: the sums too.
        return HostRows(tuple(guests), tuple(rows), last.sums, last.keys, tuple(seen))

    def _build(self, host: Host, reading: HostReading,
               addresses: Mapping[str, AddressReading]) -> HostRows:
        shared = self._host(host)
        rows: list[Row] = []
        seen: list[AddressReading | None] = []
        for entry, dom in reading.guests:
            row, address = self._row(shared, entry, dom, reading.fresh, addresses)
            rows.append(row)
            seen.append(address)
        guests = tuple(r.guest for r in rows)
        return HostRows(guests, tuple(rows), total_metrics(g.metrics for g in guests),
                        tuple((host.name, entry.desc.uuid) for entry, _ in reading.guests),
                        tuple(seen))

    def _row(self, host: _Host, entry: GuestEntry, dom: DomainReading,
             fresh: frozenset[str] | None, addresses: Mapping[str, AddressReading]
             ) -> tuple[Row, AddressReading | None]:
        """One domain's row (the last one while nothing it shows changed), and the
        address sweep's reading found for it."""
        desc = entry.desc
        status = guest_status(dom.state)
        key = (host.name, desc.uuid)
        built = self._built.get(key)
        if fresh is not None and built is not None and desc.uuid not in fresh:
            # Not read by this poll (`DomainBook`): its figures as last read.
            figures, uptime = built.figures, built.uptime
        else:
            uptime = (domain_uptime(host.run, host.containers, desc.name, host.now)
                      if host.run is not None and status is GuestStatus.RUNNING else None)
            if dom.counted and status is GuestStatus.STOPPED:
                # No counters kept across a stop: the first reading of the next run has
                # nothing to be compared with (the test driver's counters, from the wall
                # clock, made that first rate tens of PiB/s).
                self._counters.pop(key, None)
                figures = _STOPPED
            elif dom.counted:
                before = self._counters.get(key)
                self._counters[key] = dom.counters
                figures = rates(before, dom.counters, desc.vcpus, dom.mem_used)
            elif built is not None:
                # Read busy (`stats.busy`): its state is new, its figures the last ones
                # read, and the counters stay those of the last reading, so that the
                # next rate spans the whole time since (zeros kept would make a spike).
                figures = built.figures
                _state, _reason, mem_used, capacity, allocation, sized = built.reading
                dom = dom._replace(mem_used=mem_used, disk_capacity=capacity,
                                   disk_allocation=allocation, disk_sized=sized)
            else:  # busy when first seen: no figures yet, as for any first reading
                figures = rates(None, dom.counters, desc.vcpus, dom.mem_used)
        shown = (dom.state, dom.reason, dom.mem_used, dom.disk_capacity, dom.disk_allocation,
                 dom.disk_sized)
        gid = guest_id_of(desc.uuid)
        found = address = addresses.get(gid)
        if address is not None and address.status is not status:
            address = None  # read in another state: `apply` drops it
        if (built is not None and built.entry is entry
                and built.reading == shown  # `shown` holds the state and reason,
                and built.address is address  # so `migrating` is as it was
                and built.figures == figures and built.uptime == uptime):
            return built.row, found
        uptime_note = None if uptime is not None or status is not GuestStatus.RUNNING else (
            host.no_uptime if host.run is None else "its process could not be read "
            f"on this machine ({pid_file(host.run, host.containers, desc.name)})")
        ha = desc.meta.ha
        # The address sweep's reading merged here, as the backend's `apply` would after
        # the poll: that would make a second Guest of every changed domain.
        shown_addresses, address_note = merged_fields(
            (GuestAddress(desc.meta.ip, AddressSource.METADATA),) if desc.meta.ip else (),
            None, desc.meta.template, status, address)
        guest = Guest(
            id=gid, name=desc.name, kind=host.kind, node=host.name,
            status=status, template=desc.meta.template, maxcpu=desc.vcpus,
            maxmem=desc.memory, maxdisk=dom.disk_capacity, disk=dom.disk_allocation,
            metrics=Metrics(*figures), storages=entry.storages,
            addresses=shown_addresses, address_note=address_note,
            uptime=uptime or 0.0,
            unreported=(*(() if uptime is not None else ("uptime",)),
                        *(() if dom.disk_sized or not desc.image_disks else ("disk",))),
            uptime_note=uptime_note, status_reason=paused_because(dom.state, dom.reason),
            ha=None if ha is None else _ha_config(ha.request, ha.group, ha.nodes,
                                                  ha.max_restart, ha.max_relocate, status),
        )
        row = Row(guest, dom.migrating)
        self._built[key] = _Built(entry, shown, figures, uptime, row, address)
        return row, found
