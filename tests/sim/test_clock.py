"""Time control: the real clock's scale and pause, the manual clock, the protocols."""

from __future__ import annotations

import pytest

from tests.sim.conftest import refusal_of_demo
from vmconsole.backends.abilities import (
    SupportsEvents,
    SupportsFaults,
    SupportsProbe,
    SupportsTimeControl,
)
from vmconsole.backends.base import Backend, InvalidInput
from vmconsole.backends.sim import ManualClock, RealClock, SimBackend, open_sim
from vmconsole.config import SimCluster


class FakeWall:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_real_clock_runs_at_its_scale_and_pauses() -> None:
    wall = FakeWall()
    clock = RealClock(time_scale=10, start=0.0, source=wall)
    wall.t += 2
    assert clock.now() == 20
    clock.set_time_scale(0)
    wall.t += 100
    assert clock.now() == 20  # paused: no time passes, no jump
    clock.set_time_scale(60)
    wall.t += 1
    assert clock.now() == 80
    with pytest.raises(ValueError):
        clock.set_time_scale(-1)


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(start=5.0)
    assert clock.now() == 5.0
    assert clock.advance(2.5) == 7.5
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_backend_time_control(lab: SimBackend, clock: ManualClock) -> None:
    start = lab.now()
    clock.advance(90)
    assert lab.now() == start + 90
    lab.set_time_scale(60)
    assert lab.time_scale == 60


def test_open_sim_uses_the_configured_time_scale() -> None:
    backend = open_sim(SimCluster(time_scale=10))
    assert isinstance(backend.clock, RealClock) and backend.time_scale == 10


def test_sim_implements_every_protocol(lab: SimBackend) -> None:
    for protocol in (Backend, SupportsFaults, SupportsTimeControl, SupportsEvents,
                     SupportsProbe):
        assert isinstance(lab, protocol), protocol.__name__
    caps = lab.capabilities
    assert caps.vmids and caps.containers and caps.linked_clone and caps.faults
    assert caps.time_control and not caps.history


def test_the_model_follows_a_real_clock_and_stops_when_paused() -> None:
    wall = FakeWall()
    backend = SimBackend(SimCluster(), clock=RealClock(start=0.0, source=wall))
    backend.start("qemu/103")
    backend.set_time_scale(60)
    wall.t += 1  # one real second is a simulated minute: started and booted
    assert backend.probe("qemu/103") is not None
    assert any(e.kind == "booted" and e.guest == "qemu/103" for e in backend.events())
    backend.set_time_scale(0)
    paused_at = backend.now()
    backend.stop("qemu/103")
    wall.t += 100
    assert backend.now() == paused_at
    assert backend.probe("qemu/103") is not None  # the stop waits for time to move
    backend.set_time_scale(1)
    wall.t += 1
    assert backend.probe("qemu/103") is None


def test_a_cluster_shape_out_of_range_is_refused_with_the_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        SimBackend(SimCluster(nodes=0, guests=-1), clock=ManualClock())
    assert set(refused.value.fields) == {"nodes", "guests"}


@pytest.mark.parametrize("speed", ["1e9", "1e7", "1001", "inf", "-1", "nan"])
def test_a_speed_the_model_cannot_keep_is_refused_up_front_naming_the_option(speed: str) -> None:
    # 1e9 opened the console and held its first poll for good; the user typed --speed,
    # not the config file's time_scale
    assert refusal_of_demo("--speed", speed) == [
        "vmconsole demo: --speed must be between 0 (paused) and 1000 for 3 nodes"]


def test_every_option_out_of_range_is_named_in_one_refusal() -> None:
    assert refusal_of_demo("--nodes", "0", "--guests", "-1") == [
        "vmconsole demo: --nodes must be between 1 and 1000; --guests must be between 0 "
        "and 100000"]


def test_a_size_refused_does_not_also_refuse_a_speed_never_given() -> None:
    # A tester's finding: the speed's bound was computed for the refused size, "--speed
    # must be between 0 (paused) and 0 for 99999999999999999999 nodes"
    assert refusal_of_demo("--nodes", "99999999999999999999") == [
        "vmconsole demo: --nodes must be between 1 and 1000"]


def test_the_simulator_refuses_a_time_scale_with_its_key() -> None:
    with pytest.raises(InvalidInput) as refused:
        SimBackend(SimCluster(time_scale=1e9), clock=ManualClock())
    assert refused.value.message == ("simulated cluster refused: time_scale must be "
                                     "between 0 (paused) and 1000 for 3 nodes")


def test_a_large_cluster_accepts_less_speed_and_the_keys_cannot_pass_it() -> None:
    SimBackend(SimCluster(nodes=1000, time_scale=60), clock=ManualClock())
    bound = "must be between 0 \\(paused\\) and 60 for 1000 nodes"
    with pytest.raises(InvalidInput, match=f"time_scale {bound}$"):
        SimBackend(SimCluster(nodes=1000, time_scale=61), clock=ManualClock())
    backend = SimBackend(SimCluster(nodes=1000), clock=ManualClock())
    # the time control says it in the same words, of the nodes and guests it has
    with pytest.raises(InvalidInput, match=f"time scale {bound} and [0-9]+ guests$"):
        backend.set_time_scale(1e9)
    with pytest.raises(InvalidInput, match=bound):
        backend.set_time_scale(-1)
    assert backend.time_scale == 1.0
