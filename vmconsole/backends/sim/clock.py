"""The simulator's clocks: real time at a teacher's scale, or a manual one for tests.

Simulated time is in epoch seconds (like `time.time()`), so task start times and event
timestamps read as times of day. The model only ever asks `now()`; it never sleeps.
"""

from __future__ import annotations

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
