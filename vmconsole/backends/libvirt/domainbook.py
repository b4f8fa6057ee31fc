"""Which of a host's domains a poll must read: all of them, or only those libvirt's
lifecycle events named since the last read.

A host whose connection delivers domain lifecycle events
(`virConnectDomainEventRegisterAny`, VIR_DOMAIN_EVENT_ID_LIFECYCLE) says at once when a
domain is defined, undefined, started, stopped, paused, resumed or migrated. Its polls
then read the node, its pools and only the domains named since the last read (or
changed by the console, `ClusterCore.acted`, or whose cached definition was dropped),
and read every domain's figures in full every `FULL_READ_S`, as Proxmox's pvestatd
reports every 10 s. A host whose
connection cannot deliver events (a driver without them) is read in full on every
poll, as before. A connection opened, lost or failing a read starts again with two
full reads: events sent while no callback was registered are lost, and a rate takes
two readings.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import replace

from vmconsole.backends.libvirt.hostread import GuestEntry, HostReading
from vmconsole.backends.libvirt.stats import DomainReading

#: Seconds between two full reads of a host that delivers events: every domain's
#: figures (CPU, memory, disk and network rates, uptime) and disk allocation.
FULL_READ_S = 10.0


class DomainBook:
    """One host's domains as last read, and the UUIDs read again at the next poll.

    `heard` runs on libvirt's event thread (or an operation's); the rest on the
    thread that reads the host, one read at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._named: set[str] = set()
        self._last_full: float | None = None  # monotonic start of the last full read
        self._fulls = 0  # full reads since the connection changed
        self._guests: dict[str, tuple[GuestEntry, DomainReading]] = {}

    def heard(self, uuid: str) -> None:
        """An event (or the console) says domain `uuid` changed: read it next poll."""
        with self._lock:
            self._named.add(uuid)

    def reset(self) -> None:
        """The connection changed (opened, lost) or a read failed: read in full next."""
        with self._lock:
            self._last_full = None
            self._fulls = 0
            self._named.clear()

    def due(self, now: float, listening: bool, every: float,
            described: Collection[str]) -> frozenset[str] | None:
        """What the read starting at `now` (monotonic seconds) reads: None for every
        domain (no events on this connection, fewer than two full reads since it
        changed, or the last one `every` seconds ago), else the UUIDs named since the
        last read, which are then forgotten (one named during this read is read at the
        next), and those last read whose UUID is not in `described` (the host's cached
        definitions: one dropped is read again)."""
        with self._lock:
            named, self._named = frozenset(self._named), set()
            if (not listening or self._last_full is None or self._fulls < 2
                    or now - self._last_full >= every):
                self._last_full = now
                self._fulls += 1
                return None
        return named | (self._guests.keys() - described)

    def store(self, reading: HostReading, read: frozenset[str] | None) -> HostReading:
        """`reading` of the domains `read` (None: all) merged into the host's domains as
        last read: a UUID of `read` missing from it is gone (undefined, or migrated away
        as a transient domain). Returns the whole host, with `fresh` set to `read`."""
        if read is None:
            self._guests = {entry.desc.uuid: (entry, dom) for entry, dom in reading.guests}
            return reading
        found = {entry.desc.uuid: (entry, dom) for entry, dom in reading.guests}
        for uuid in read - found.keys():
            self._guests.pop(uuid, None)
        self._guests.update(found)  # a domain read again keeps its place
        return replace(reading, guests=tuple(self._guests.values()), fresh=read)
