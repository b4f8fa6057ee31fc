"""The simulator's clocks: real time at a teacher's scale, or a manual one for tests.

Simulated time is in epoch seconds (like `time.time()`), so task start times and event
timestamps read as times of day. The model only ever asks `now()`; it never sleeps.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

# 2026-01-01 12:00:00 UTC: a fixed start for the manual clock, so tests and snapshots
# see the same times on every run.
SIM_EPOCH = 1_767_268_800.0


class SimClock(Protocol):
    @property
    def time_scale(self) -> float: ...
    def set_time_scale(self, scale: float) -> None: ...
    def now(self) -> float: ...


# The fastest clock the model keeps up with. The model works through every event due up
# to the clock's present before it answers a poll (`Sim.advance`), so a clock faster
# than that work never lets a poll through: 1e9 on the classic lab held the first poll
# for good. Its work grows with the nodes (each one's CRM and LRM rounds) and the guests
# (their load): measured on one core, the 3-node lab simulates about 140,000 s a second,
# 100 nodes 9,000, 1,000 nodes 150, 100 nodes with 100,000 guests 500. WORK_BUDGET
# units a second, a node one unit and each whole GUESTS_PER_UNIT guests another, keeps
# each of those under half a core (1,000 nodes at 60x, the `]` key's top).
MAX_TIME_SCALE = 1000
WORK_BUDGET = 60_000
GUESTS_PER_UNIT = 100


def max_time_scale(nodes: int, guests: int = 0) -> int:
    """The largest time scale (simulated seconds per real second) the simulator accepts
    for a cluster of `nodes` nodes (>= 1) and `guests` guests: MAX_TIME_SCALE, less for
    larger clusters (WORK_BUDGET over their work units, rounded down: 60 at 1,000
    nodes)."""
    units = max(1, nodes) + max(0, guests) // GUESTS_PER_UNIT
    return min(MAX_TIME_SCALE, math.floor(WORK_BUDGET / units))


def time_scale_refusal(scale: float, nodes: int, guests: int = 0) -> str | None:
    """Why `scale` (simulated seconds per real second) is refused for a cluster of
    `nodes` nodes and `guests` guests, as what it "must be" ("between 0 (paused) and
    1000 for 3 nodes"), or None when it is accepted (0 to `max_time_scale`). The caller
    names the setting: the config key, the CLI option or the time control."""
    limit = max_time_scale(nodes, guests)
    if 0 <= scale <= limit:  # NaN is refused too
        return None
    return (f"between 0 (paused) and {limit} for {nodes} nodes"
            + (f" and {guests} guests" if guests else ""))


def _check_scale(scale: float) -> float:
    if not scale >= 0:  # also refuses NaN
        raise ValueError(f"time scale must be >= 0 (0 pauses), got {scale!r}")
    return float(scale)


class RealClock:
    """Simulated time that runs `time_scale` times faster than the wall clock.

    Changing the scale re-anchors the clock, so simulated time never jumps.
    """

    def __init__(self, time_scale: float = 1.0, start: float | None = None,
                 source: Callable[[], float] = time.monotonic) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._scale = _check_scale(time_scale)
        self._anchor_real = source()
        self._anchor_sim = time.time() if start is None else start

    @property
    def time_scale(self) -> float:
        return self._scale

    def set_time_scale(self, scale: float) -> None:
        scale = _check_scale(scale)
        with self._lock:
            real = self._source()
            self._anchor_sim += (real - self._anchor_real) * self._scale
            self._anchor_real = real
            self._scale = scale

    def now(self) -> float:
        with self._lock:
            return self._anchor_sim + (self._source() - self._anchor_real) * self._scale


class ManualClock:
    """A clock that moves only when told to: tests run minutes of simulated time at once.

    `time_scale` is recorded (a UI may show it) but does not move the clock.
    """

    def __init__(self, start: float = SIM_EPOCH) -> None:
        self._now = start
        self._scale = 1.0
        self._lock = threading.Lock()

    @property
    def time_scale(self) -> float:
        return self._scale

    def set_time_scale(self, scale: float) -> None:
        self._scale = _check_scale(scale)

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock does not run backwards")
        with self._lock:
            self._now += seconds
            return self._now
