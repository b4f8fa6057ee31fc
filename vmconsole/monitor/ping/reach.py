"""Which of a guest's addresses answers: a short probe of each at once, the first in
the given order that answers chosen (`w` on a guest with several addresses).

Bounded: at most `MAX_CANDIDATES` targets, `count` probes each, `wait` seconds in all.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from vmconsole.monitor.ping.measurement import Measurement, PingMonitor
from vmconsole.monitor.ping.targets import ProbeTarget

MAX_CANDIDATES = 8
POLL_S = 0.02


def first_answering(monitor: PingMonitor, targets: Sequence[ProbeTarget], wait: float = 1.5,
                    count: int = 3, interval: float = 0.25) -> ProbeTarget:
    """The first of `targets` (in their order) that answers a probe within `wait`
    seconds, else the first of them. Raises ProbeError or NetnsError as
    `PingMonitor.start` does (no privilege, no namespace), and ValueError for none."""
    if not targets:
        raise ValueError("no address to probe")
    candidates = list(targets[:MAX_CANDIDATES])
    if len(candidates) == 1:
        return candidates[0]
    measurements: list[Measurement] = []
    try:
        for target in candidates:
            measurements.append(monitor.start(target, interval=interval, count=count,
                                          timeout=min(1.0, wait)))
        deadline = time.monotonic() + wait
        while True:
            chosen, undecided = _decide(measurements)
            if chosen is not None:
                return chosen.target
            if not undecided or time.monotonic() >= deadline:
                answered = [s for s in measurements if s.snapshot().received]
                return answered[0].target if answered else candidates[0]
            time.sleep(POLL_S)
    finally:
        for measurement in measurements:
            measurement.stop()


def _decide(measurements: Sequence[Measurement]) -> tuple[Measurement | None, bool]:
    """(the measurement to choose, whether one before it may still answer): an earlier
    address still probing is waited for before a later one that answered."""
    for measurement in measurements:
        snap = measurement.snapshot()
        if snap.received:
            return measurement, False
        if snap.running:
            return None, True
    return None, False
