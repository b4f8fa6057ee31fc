"""The monitor against the real simulator: guests answer exactly when the model says, and
a migration or an HA failover costs what the model says, measured in simulated time."""

from __future__ import annotations

import time

import pytest

from tests.ping.conftest import counts, edge_gaps, wait_for
from vmconsole.backends.abilities import FaultKind
from vmconsole.backends.base import MigrationMode, Task
from vmconsole.backends.sim import RealClock, SimBackend
from vmconsole.config import SimCluster
from vmconsole.model import GuestKind
from vmconsole.monitor.ping import PingMonitor, PingSnapshot, ProbeTarget


def lab(scale: float) -> SimBackend:
    return SimBackend(SimCluster(), clock=RealClock(scale))


def test_running_guests_answer_and_templates_do_not(monitor: PingMonitor):
    sim = lab(1)
    guests = sim.inventory().guests
    running = next(g for g in guests if g.running and not g.template)
    template = next(g for g in guests if g.template)
    up = monitor.start(ProbeTarget.sim(sim, running.id), interval=0.01, count=20)
    down = monitor.start(ProbeTarget.sim(sim, template.id), interval=0.01, count=20)
    assert up.wait(5) and down.wait(5)
    assert up.snapshot().received == 20 and up.snapshot().rtt.max < 0.001
    assert down.snapshot().received == 0


def migrate_and_watch(monitor: PingMonitor, sim: SimBackend, guest_id: str,
                      mode: MigrationMode, real_seconds: float) -> tuple[PingSnapshot, Task]:
    guest = sim.inventory().guest(guest_id)
    assert guest is not None and guest.running
    node = next(t.node for t in sim.migration_targets(guest_id) if t.allowed)
    measurement = monitor.start(ProbeTarget.sim(sim, guest_id), interval=0.01,
                            duration=real_seconds)
    wait_for(lambda: measurement.snapshot().received, what="a reply before the migration",
             seen=lambda: counts(measurement))
    task = sim.migrate(guest_id, node, mode)
    deadline = time.monotonic() + real_seconds

    def settled() -> bool:
        # Done, and answering again: a container's task ends when it starts, but it
        # answers only once booted.
        snap = measurement.snapshot()
        return sim.task(task.id).status.done and bool(snap.outages) and snap.ongoing is None

    while not settled() and time.monotonic() < deadline:
        time.sleep(0.05)
    measurement.stop()
    assert measurement.wait(2)
    done = sim.task(task.id)
    assert done.status.done, "the migration did not finish in time"
    return measurement.snapshot(), done


@pytest.mark.parametrize(("kind", "mode", "scale", "shortest", "longest"), [
    # A probe every 50 ms of simulated time: a live migration costs under a second.
    (GuestKind.VM, MigrationMode.LIVE, 5, 0.0, 1.0),
    # A probe every 200 ms: a container's restart migration costs seconds.
    (GuestKind.CT, MigrationMode.RESTART, 20, 1.0, 60.0),
], ids=["live-vm", "restart-ct"])
def test_a_migration_costs_what_the_model_says(monitor: PingMonitor, kind: GuestKind,
                                               mode: MigrationMode, scale: float,
                                               shortest: float, longest: float):
    sim = lab(scale)
    guest = next(g for g in sim.inventory().guests
                 if g.kind is kind and g.running and "san" in g.storages)
    if guest.ha is not None:  # an HA guest's migration is a request to the HA manager
        sim.ha_remove(guest.id)
    snap, task = migrate_and_watch(monitor, sim, guest.id, mode, 15)
    [outage] = snap.outages
    assert shortest < outage.downtime < longest
    # The model's own downtime, read by the monitor within the probes' spacing at the
    # outage's two edges (a probe every 0.01 s x scale of simulated time when the probe
    # thread runs on time), and a probe interval for the stamp taken before the probe.
    model = float(task.result["downtime_ms"]) / 1000
    step = 0.01 * scale
    assert model - 0.02 <= outage.downtime <= model + edge_gaps(snap, outage) + step


def test_an_ha_failover_costs_about_two_minutes(monitor: PingMonitor):
    sim = lab(100)  # a probe every second of simulated time
    guest = sim.inventory().guest("lxc/200")  # dns1: HA, on pve3 in the classic lab
    assert guest is not None and guest.ha is not None and guest.node == "pve3"
    measurement = monitor.start(ProbeTarget.sim(sim, guest.id), interval=0.01, duration=20)
    wait_for(lambda: measurement.snapshot().received, what="a reply before the fault",
             seen=lambda: counts(measurement))
    sim.inject_fault("pve3", FaultKind.POWER_OFF)
    deadline = time.monotonic() + 15
    while not measurement.snapshot().outages and time.monotonic() < deadline:
        time.sleep(0.05)
    measurement.stop()
    assert measurement.wait(2)
    [outage] = measurement.snapshot().outages
    down, up = sim.sim.reach_log[guest.id][-2:]  # the model's own record
    assert 100 < outage.downtime < 200
    model = up[0] - down[0]
    assert model - 0.1 <= outage.downtime <= model + edge_gaps(measurement.snapshot(), outage) + 1.0
