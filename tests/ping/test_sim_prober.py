"""The simulator prober, with a stand-in (FakeSim) that is unreachable for a known
stretch of its own sped-up time."""

from __future__ import annotations

import pytest

from tests.ping.conftest import FakeSim, edge_gaps, wait_for
from vmconsole.backends.abilities import SupportsProbe, SupportsTimeControl
from vmconsole.backends.base import Unreachable
from vmconsole.monitor.ping import PingMonitor, ProbeTarget


def test_the_fake_is_what_the_monitor_expects():
    fake = FakeSim(1, 0, 0)
    assert isinstance(fake, SupportsProbe) and isinstance(fake, SupportsTimeControl)


def test_outage_measured_in_simulated_time(monitor: PingMonitor):
    # At 10x, 3 s of simulated downtime pass in 0.3 s of real time.
    fake = FakeSim(scale=10, down_at=2.0, up_at=5.0)
    measurement = monitor.start(ProbeTarget.sim(fake, "qemu/100", "web"), interval=0.01,
                            duration=0.8)
    assert measurement.wait(5)
    snap = measurement.snapshot()
    [outage] = snap.outages
    # One probe every 10 ms of real time is one every 100 ms of simulated time: the gap
    # between replies exceeds the 3 s cut by the probes' spacing at its two edges.
    assert 3.0 - 0.05 <= outage.downtime <= 3.0 + 0.05 + edge_gaps(snap, outage)
    assert outage.start == pytest.approx(fake.down_at, abs=0.15)
    assert snap.started == pytest.approx(fake._sim0, abs=0.5)


def test_a_guest_the_simulator_does_not_know_never_answers(monitor: PingMonitor):
    fake = FakeSim(scale=1, down_at=0, up_at=0)
    measurement = monitor.start(ProbeTarget.sim(fake, "qemu/999"), interval=0.01, count=5)
    assert measurement.wait(5)
    snap = measurement.snapshot()
    assert snap.received == 0 and snap.lost == 5


def test_markers_are_kept_in_the_session_clock(monitor: PingMonitor):
    fake = FakeSim(scale=60, down_at=1e9, up_at=1e9)
    measurement = monitor.start(ProbeTarget.sim(fake, "qemu/100"), interval=0.01, count=3)
    measurement.mark("migration started")
    measurement.mark("migration done", at=fake.now() + 5)
    assert measurement.wait(5)
    first, second = measurement.snapshot().markers
    assert first.label == "migration started" and first.time == pytest.approx(fake.now(),
                                                                                abs=10)
    assert second.time - first.time == pytest.approx(5, abs=1)


def test_no_probe_while_the_simulation_is_paused(monitor: PingMonitor):
    """A tester's finding: with the simulation paused, sent and received kept climbing
    and the chart kept moving, though no simulated time passed."""
    paused = FakeSim(scale=10, down_at=1e9, up_at=1e9)
    measurement = monitor.start(ProbeTarget.sim(paused, "qemu/100"), interval=0.01,
                                duration=30)
    running = FakeSim(scale=1, down_at=1e9, up_at=1e9)  # the same engine's other guest
    other = monitor.start(ProbeTarget.sim(running, "qemu/100"), interval=0.01, duration=30)
    wait_for(lambda: measurement.snapshot().sent >= 5)
    paused.set_time_scale(0)
    before = measurement.snapshot().sent  # at most one probe of the turn under way
    seen = other.snapshot().sent
    wait_for(lambda: other.snapshot().sent >= seen + 30)  # 30 turns of the engine
    held = measurement.snapshot()
    assert held.sent <= before + 1 and held.received == held.sent
    assert held.now == paused.now()  # the chart stands still
    paused.set_time_scale(10)
    wait_for(lambda: measurement.snapshot().sent >= held.sent + 5)


class FlakyClock(FakeSim):
    """A served console's simulator: its clock is a call to the server, which can fail."""

    def __init__(self) -> None:
        super().__init__(scale=1, down_at=1e9, up_at=1e9)
        self.failing = False

    def now(self) -> float:
        if self.failing:
            raise Unreachable("now: no answer from the server in 120 s")
        return super().now()

    def probe(self, guest_id: str) -> float | None:
        return self.RTT  # the guest answers throughout: only the clock fails


def test_a_clock_that_cannot_be_read_skips_probes_and_ends_nothing(monitor: PingMonitor):
    flaky = FlakyClock()
    measurement = monitor.start(ProbeTarget.sim(flaky, "qemu/100"), interval=0.01,
                                duration=30)
    steady = FakeSim(scale=1, down_at=1e9, up_at=1e9)  # the same engine's other guest
    other = monitor.start(ProbeTarget.sim(steady, "qemu/100"), interval=0.01, duration=30)
    wait_for(lambda: measurement.snapshot().sent >= 5)
    flaky.failing = True
    seen = other.snapshot().sent
    wait_for(lambda: other.snapshot().sent >= seen + 30)  # 30 turns of the engine
    held = measurement.snapshot().sent
    flaky.failing = False
    wait_for(lambda: measurement.snapshot().sent >= held + 5)
    assert measurement.running and other.running
    assert measurement.snapshot().lost == 0
