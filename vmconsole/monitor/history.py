"""Recent metric history per object, in fixed-size ring buffers.

Columnar float32 slots: one per poll, each holding every object's figures in a row of
its own, so 10,000 guests x 150 polls x 7 figures cost ~42 MB instead of the ~500 MB
that a deque of tuples would. A poll's slot starts as a copy of the previous one (one
memcpy) and only the rows of the objects the poll's diff names (`Inventory.diff`, which
the poller makes anyway) are written: no second walk over 10,000 guests per poll, and
backends that reuse an unchanged guest's entry between polls (the simulator, like
pvestatd's 10 s reports) cost no write for it.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections.abc import Iterable, Sequence

from vmconsole.backends.base import MetricSample
from vmconsole.model import Guest, Inventory, InventoryDiff, Node

_FIELDS = ("cpu", "mem", "net_in", "net_out", "disk_read", "disk_write")
_WIDTH = len(_FIELDS) + 1  # + maxmem
_NAN = math.nan
_BLANK = array("f", [_NAN]) * _WIDTH


def _floats(figures: Sequence[float]) -> array[float]:
    """`figures` as float32. Beyond float32's ~3.4e38 a figure becomes inf, and one even
    a double cannot hold (an int of 400 digits, which array() refuses with
    OverflowError) is stored as inf too: `samples` leaves such a poll out."""
    try:
        return array("f", figures)
    except OverflowError:
        return array("f", [_float(x) for x in figures])


def _float(figure: float) -> float:
    try:
        return float(figure)
    except OverflowError:
        return math.inf


def _row(obj: Node | Guest) -> tuple[float, ...]:
    """An object's figures in a slot's row, in `_FIELDS` order, then its maxmem."""
    m = obj.metrics
    return m.cpu, m.mem, m.net_in, m.net_out, m.disk_read, m.disk_write, obj.maxmem


class MetricHistory:
    """The last `capacity` polls of every node's and guest's metrics."""

    def __init__(self, capacity: int = 150) -> None:
        if capacity < 2:
            raise ValueError("capacity must be at least 2")
        self.capacity = capacity
        self._times = array("d", [_NAN]) * capacity
        self._slots: list[array[float]] = [array("f") for _ in range(capacity)]
        self._polls = 0
        self._rows: dict[str, int] = {}  # object id -> its row in every slot
        self._since: dict[str, int] = {}  # object id -> the first poll its row holds it
        self._gone: dict[str, int] = {}  # object id -> the poll it was first missing from
        self._free: list[int] = []  # rows of forgotten objects, for new ones
        self._lock = threading.Lock()

    def record(self, inventory: Inventory, diff: InventoryDiff) -> None:
        """Store one poll's figures for every node and guest in `inventory`. `diff`:
        what `inventory` changes relative to the one recorded last (`Inventory.diff`;
        for the first, every object added): only its added and changed objects are
        written, its removed ones blanked, the others keep the previous poll's."""
        objects = inventory.objects()
        with self._lock:
            poll = self._polls
            slot = poll % self.capacity
            # The first objects ever: one array built in one go (10,000 guests' rows
            # before the first screen), not a row written at a time.
            fresh = not self._rows and not self._free  # no row was ever handed out
            if fresh:
                figures = self._first_slot(objects, poll)
            else:
                figures = self._next_slot(objects, diff.removed,
                                          (*diff.added, *diff.changed), poll)
            self._slots[slot] = figures
            self._times[slot] = inventory.taken_at
            self._polls = poll + 1
            self._forget()

    def _first_slot(self, objects: dict[str, Node | Guest], poll: int) -> array[float]:
        """The slot of the first poll with objects: each gets the next row in turn."""
        self._rows = {key: row for row, key in enumerate(objects)}
        self._since = dict.fromkeys(objects, poll)
        return _floats([x for obj in objects.values() for x in _row(obj)])

    def _next_slot(self, objects: dict[str, Node | Guest], gone: Iterable[str],
                   written: Iterable[str], poll: int) -> array[float]:
        """The previous poll's slot, copied, with the rows of the objects `written` (the
        others hold their figures already) written and of those `gone` blanked."""
        figures = self._slots[(poll - 1) % self.capacity][:]
        for key in gone:
            # Blank what left, so stale figures never reappear if it comes back.
            base = self._rows[key] * _WIDTH
            figures[base : base + _WIDTH] = _BLANK
            self._gone[key] = poll
        for key in written:
            obj = objects[key]
            row = self._rows.get(key)
            if row is None:
                row = self._new_row(key, poll)
            self._gone.pop(key, None)
            base = row * _WIDTH
            if len(figures) < base + _WIDTH:
                figures.extend(_BLANK * ((base + _WIDTH - len(figures)) // _WIDTH))
            figures[base : base + _WIDTH] = _floats(_row(obj))
        return figures

    def _new_row(self, key: str, poll: int) -> int:
        """A row for a new object: a forgotten object's (older slots still hold that
        one's figures there, so samples start at `since`), else a new one at the end."""
        row = self._free.pop() if self._free else len(self._rows)
        self._rows[key] = row
        self._since[key] = poll
        return row

    def _forget(self) -> None:
        """Free the rows of objects missing for a whole ring's worth of polls."""
        if self._polls % self.capacity:
            return
        horizon = self._polls - self.capacity
        for key in [k for k, gone in self._gone.items() if gone <= horizon]:
            self._free.append(self._rows.pop(key))
            del self._since[key], self._gone[key]

    def samples(self, object_id: str) -> list[MetricSample]:
        """The object's samples, oldest first (empty for an unknown object)."""
        with self._lock:
            row = self._rows.get(object_id)
            if row is None:
                return []
            out = []
            base = row * _WIDTH
            first = max(self._since[object_id], self._polls - self.capacity)
            for poll in range(first, self._polls):
                slot = poll % self.capacity
                figures = self._slots[slot]
                if len(figures) < base + _WIDTH:
                    continue  # the slot was written before the object had a row
                row_figures = figures[base : base + _WIDTH]
                # A blank row (nan), or a figure float32 could not hold (inf): every
                # backend feeds the history, and int(inf) would fail this reader.
                if not all(map(math.isfinite, row_figures)):
                    continue
                cpu, mem, net_in, net_out, dr, dw, maxmem = row_figures
                out.append(MetricSample(self._times[slot], cpu, int(mem), int(maxmem),
                                        net_in, net_out, dr, dw))
            return out

    def __contains__(self, object_id: str) -> bool:
        return object_id in self._rows
