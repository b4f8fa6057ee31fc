"""The cluster's event log (`SupportsEvents`), and libvirt lifecycle events in words."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque

import libvirt

from vmconsole.backends.abilities import ClusterEvent
from vmconsole.backends.event_kinds import EventKind

KEEP_EVENTS = 1000

_LIFECYCLE = {
    libvirt.VIR_DOMAIN_EVENT_DEFINED: (EventKind.GUEST_DEFINED, "defined"),
    libvirt.VIR_DOMAIN_EVENT_UNDEFINED: (EventKind.GUEST_UNDEFINED, "undefined"),
    libvirt.VIR_DOMAIN_EVENT_STARTED: (EventKind.GUEST_STARTED, "started"),
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: (EventKind.GUEST_PAUSED, "paused"),
    libvirt.VIR_DOMAIN_EVENT_RESUMED: (EventKind.GUEST_RESUMED, "resumed"),
    libvirt.VIR_DOMAIN_EVENT_STOPPED: (EventKind.GUEST_STOPPED, "stopped"),
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: (EventKind.GUEST_SHUTDOWN, "shutting down"),
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: (EventKind.GUEST_PMSUSPENDED, "suspended by its OS"),
    libvirt.VIR_DOMAIN_EVENT_CRASHED: (EventKind.GUEST_CRASHED, "crashed"),
}

# The moments of a live migration, as the source and the destination report them.
_MIGRATION = {
    (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_MIGRATED):
        (EventKind.MIGRATION_INCOMING, "arriving by migration (paused until the switch-over)"),
    (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED):
        (EventKind.STOP_AND_COPY, "paused for the final copy of a live migration"),
    (libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_MIGRATED):
        (EventKind.MIGRATION_RESUMED, "resumed after migration"),
    (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED):
        (EventKind.MIGRATED_AWAY, "left by migration"),
}


def describe_lifecycle(event: int, detail: int) -> tuple[EventKind, str]:
    """(kind, words) for a libvirt lifecycle event."""
    if (event, detail) in _MIGRATION:
        return _MIGRATION[(event, detail)]
    return _LIFECYCLE.get(event, (EventKind.GUEST_EVENT, f"event {event}/{detail}"))


class EventLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: deque[ClusterEvent] = deque(maxlen=KEEP_EVENTS)
        self._seq = itertools.count(1)

    def add(self, kind: EventKind, message: str, node: str | None = None,
            guest: str | None = None) -> ClusterEvent:
        with self._lock:
            event = ClusterEvent(next(self._seq), time.time(), kind, message, node, guest)
            self._events.append(event)
            return event

    def since(self, seq: int) -> list[ClusterEvent]:
        with self._lock:
            return [e for e in self._events if e.seq > seq]
