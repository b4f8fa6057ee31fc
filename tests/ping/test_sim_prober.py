"""The simulator prober, with a stand-in that is unreachable for a known stretch of its
own (sped-up) time."""

from __future__ import annotations

import time

import pytest

from vmconsole.backends.base import NotFound, SupportsProbe, SupportsTimeControl
from vmconsole.monitor.ping import PingMonitor, ProbeTarget


class FakeSim:
    """Answers probe() for guest "qemu/100" except between down_at and up_at (sim time).

    Its clock runs `scale` times faster than real time, from an epoch-like start, as the
    simulator's does for a teacher at 10x.
    """

    def __init__(self, scale: float, down_at: float, up_at: float) -> None:
        self._scale = scale
        self._real0 = time.monotonic()
        self._sim0 = 1_700_000_000.0
        self.down_at, self.up_at = self._sim0 + down_at, self._sim0 + up_at

    @property
    def time_scale(self) -> float:
        return self._scale

    def set_time_scale(self, scale: float) -> None:
        self._scale = scale

    def now(self) -> float:
        return self._sim0 + (time.monotonic() - self._real0) * self._scale

    def probe(self, guest_id: str) -> float | None:
        if guest_id != "qemu/100":
            raise NotFound(f"no guest {guest_id}")
        return None if self.down_at <= self.now() < self.up_at else 0.0004


def test_the_fake_is_what_the_monitor_expects():
    fake = FakeSim(1, 0, 0)
    assert isinstance(fake, SupportsProbe) and isinstance(fake, SupportsTimeControl)


def test_outage_measured_in_simulated_time(monitor: PingMonitor):
    # At 10x, 3 s of simulated downtime pass in 0.3 s of real time.
    fake = FakeSim(scale=10, down_at=2.0, up_at=5.0)
    session = monitor.start(ProbeTarget.sim(fake, "qemu/100", "web"), interval=0.01,
                            duration=0.8)
    assert session.wait(5)
    snap = session.snapshot()
    [outage] = snap.outages
    # One probe every 10 ms of real time is one every 100 ms of simulated time.
    assert outage.downtime == pytest.approx(3.0, abs=0.1 + 0.05)
    assert outage.start == pytest.approx(fake.down_at, abs=0.15)
    assert snap.started == pytest.approx(fake._sim0, abs=0.5)


def test_a_guest_the_simulator_does_not_know_never_answers(monitor: PingMonitor):
    fake = FakeSim(scale=1, down_at=0, up_at=0)
    session = monitor.start(ProbeTarget.sim(fake, "qemu/999"), interval=0.01, count=5)
    assert session.wait(5)
    snap = session.snapshot()
    assert snap.received == 0 and snap.lost == 5


def test_markers_are_kept_in_the_session_clock(monitor: PingMonitor):
    fake = FakeSim(scale=60, down_at=1e9, up_at=1e9)
    session = monitor.start(ProbeTarget.sim(fake, "qemu/100"), interval=0.01, count=3)
    session.mark("migration started")
    session.mark("migration done", at=fake.now() + 5)
    assert session.wait(5)
    first, second = session.snapshot().markers
    assert first.label == "migration started" and first.time == pytest.approx(fake.now(),
                                                                                abs=10)
    assert second.time - first.time == pytest.approx(5, abs=1)
