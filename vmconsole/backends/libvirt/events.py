"""The cluster's event log (`SupportsEvents`), and libvirt lifecycle events in words."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque

import libvirt

from vmconsole.backends.base import ClusterEvent

KEEP_EVENTS = 1000

_LIFECYCLE = {
    libvirt.VIR_DOMAIN_EVENT_DEFINED: ("guest_defined", "defined"),
    libvirt.VIR_DOMAIN_EVENT_UNDEFINED: ("guest_undefined", "undefined"),
    libvirt.VIR_DOMAIN_EVENT_STARTED: ("guest_started", "started"),
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: ("guest_paused", "paused"),
    libvirt.VIR_DOMAIN_EVENT_RESUMED: ("guest_resumed", "resumed"),
    libvirt.VIR_DOMAIN_EVENT_STOPPED: ("guest_stopped", "stopped"),
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: ("guest_shutdown", "shutting down"),
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: ("guest_pmsuspended", "suspended by its OS"),
    libvirt.VIR_DOMAIN_EVENT_CRASHED: ("guest_crashed", "crashed"),
}

# The moments of a live migration, as the source and the destination report them.
_MIGRATION = {
    (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_MIGRATED):
        ("migration_incoming", "arriving by migration (paused until the switch-over)"),
    (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED):
        ("stop_and_copy", "paused for the final copy of a live migration"),
    (libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_MIGRATED):
        ("migration_resumed", "resumed after migration"),
    (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED):
        ("migrated_away", "left by migration"),
}


def describe_lifecycle(event: int, detail: int) -> tuple[str, str]:
    """(kind, words) for a libvirt lifecycle event."""
    if (event, detail) in _MIGRATION:
        return _MIGRATION[(event, detail)]
    return _LIFECYCLE.get(event, ("guest_event", f"event {event}/{detail}"))


class EventLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: deque[ClusterEvent] = deque(maxlen=KEEP_EVENTS)
        self._seq = itertools.count(1)

    def add(self, kind: str, message: str, node: str | None = None,
            guest: str | None = None) -> ClusterEvent:
        with self._lock:
            event = ClusterEvent(next(self._seq), time.time(), kind, message, node, guest)
            self._events.append(event)
            return event

    def since(self, seq: int) -> list[ClusterEvent]:
        with self._lock:
            return [e for e in self._events if e.seq > seq]
