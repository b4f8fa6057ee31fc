"""Recent metric history per object, in fixed-size ring buffers.

Columnar float32 rings: one slot per poll, shared by every object of a cluster, so
10,000 guests x 150 polls x 6 figures cost ~36 MB instead of the ~500 MB that a deque of
tuples would.
"""

from __future__ import annotations

import math
import threading
from array import array

from vmconsole.backends.base import MetricSample
from vmconsole.model import Inventory, Metrics

_FIELDS = ("cpu", "mem", "net_in", "net_out", "disk_read", "disk_write")
_WIDTH = len(_FIELDS) + 1  # + maxmem
_NAN = math.nan


class MetricHistory:
    """The last `capacity` polls of every node's and guest's metrics."""

    def __init__(self, capacity: int = 150) -> None:
        if capacity < 2:
            raise ValueError("capacity must be at least 2")
        self.capacity = capacity
        self._times = array("d", [_NAN]) * capacity
        self._polls = 0
        self._rings: dict[str, array[float]] = {}
        self._last: dict[str, int] = {}  # object id -> poll number of its last write
        self._lock = threading.Lock()

    def record(self, inventory: Inventory) -> None:
        """Store one poll's figures for every node and guest in `inventory`."""
        with self._lock:
            poll = self._polls
            slot = poll % self.capacity
            self._times[slot] = inventory.taken_at
            for node in inventory.nodes:
                self._write(node.id, poll, slot, node.metrics, node.maxmem)
            for guest in inventory.guests:
                self._write(guest.id, poll, slot, guest.metrics, guest.maxmem)
            self._polls = poll + 1
            self._forget()

    def _write(self, key: str, poll: int, slot: int, m: Metrics, maxmem: int) -> None:
        ring = self._rings.get(key)
        last = self._last.get(key)
        if ring is None:
            ring = self._rings[key] = array("f", [_NAN]) * (self.capacity * _WIDTH)
        elif last is not None and poll - last > 1:
            # Blank the polls this object missed, so stale figures never reappear.
            for missed in range(max(last + 1, poll - self.capacity + 1), poll):
                base = (missed % self.capacity) * _WIDTH
                ring[base : base + _WIDTH] = array("f", [_NAN]) * _WIDTH
        base = slot * _WIDTH
        ring[base : base + _WIDTH] = array(
            "f", (m.cpu, m.mem, m.net_in, m.net_out, m.disk_read, m.disk_write, maxmem)
        )
        self._last[key] = poll

    def _forget(self) -> None:
        """Drop objects that have not been seen for a whole ring's worth of polls."""
        if self._polls % self.capacity:
            return
        horizon = self._polls - self.capacity
        for key in [k for k, last in self._last.items() if last < horizon]:
            del self._rings[key], self._last[key]

    def samples(self, object_id: str) -> list[MetricSample]:
        """The object's samples, oldest first (empty for an unknown object)."""
        with self._lock:
            ring = self._rings.get(object_id)
            if ring is None:
                return []
            out = []
            first = max(0, self._polls - self.capacity)
            for poll in range(first, self._polls):
                slot = poll % self.capacity
                base = slot * _WIDTH
                cpu, mem, net_in, net_out, dr, dw, maxmem = ring[base : base + _WIDTH]
                if math.isnan(cpu):
                    continue
                out.append(MetricSample(self._times[slot], cpu, int(mem), int(maxmem),
                                        net_in, net_out, dr, dw))
            return out

    def __contains__(self, object_id: str) -> bool:
        return object_id in self._rings
