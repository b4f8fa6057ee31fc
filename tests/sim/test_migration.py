"""Migration: targets with reasons, live pre-copy with a sub-second pause, containers by
restart, offline with local disks, and probes that follow the model to the millisecond."""

from __future__ import annotations

import itertools

import pytest

from tests.sim.conftest import wait_task
from vmconsole.backends.abilities import FaultKind
from vmconsole.backends.base import InvalidInput, MigrationMode, NotSupported, TaskStatus
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.config import SimCluster

GiB = 1024**3


@pytest.fixture
def lab(clock: ManualClock) -> SimBackend:
    """The lab with web1 and db1 taken out of HA: these tests are about QEMU's migration
    itself; an HA guest's migration is a request to the HA manager (test_ha_rules)."""
    backend = SimBackend(SimCluster(), clock=clock)
    for guest in ("qemu/100", "qemu/101"):
        backend.ha_remove(guest)
    return backend


def targets(lab: SimBackend, guest: str) -> dict[str, tuple[bool, str]]:
    return {t.node: (t.allowed, t.reason) for t in lab.migration_targets(guest)}


def outages(lab: SimBackend, guest: str, since: float) -> list[float]:
    """Lengths of the intervals in which the guest did not answer, from the model's
    reachability record."""
    log = [(t, up) for t, up in lab.sim.reach_log[guest] if t > since]
    return [b[0] - a[0] for a, b in itertools.pairwise(log) if not a[1] and b[1]]


def test_targets_say_why_a_node_is_refused(lab: SimBackend) -> None:
    web = targets(lab, "qemu/100")
    assert web["pve1"] == (False, "the guest is on this node")
    assert web["pve2"][0] and web["pve3"][0]
    build = targets(lab, "qemu/102")  # running VM with its disk on local-lvm
    assert not build["pve1"][0] and "local disk scsi0 on local-lvm" in build["pve1"][1]
    assert "live migration refused" in build["pve1"][1]
    proxy = targets(lab, "lxc/201")
    assert proxy["pve1"][0] and "restart mode" in proxy["pve1"][1]
    lab.inject_fault("pve3", FaultKind.POWER_OFF)
    assert targets(lab, "qemu/100")["pve3"] == (
        False, "node 'pve3' is offline or without quorum")
    lab.sim.nodes["pve2"].maxmem = 4 * GiB  # a small node: db1's 4 GiB do not fit
    reason = targets(lab, "qemu/100")["pve2"]
    assert not reason[0] and reason[1].startswith("not enough memory: needs 2.0 GiB")


def test_live_migration_pauses_the_vm_for_milliseconds(lab: SimBackend,
                                                       clock: ManualClock) -> None:
    start = lab.now()
    task = lab.migrate("qemu/101", "pve1", MigrationMode.LIVE)
    assert lab.inventory().guest("qemu/101").lock == "migrate"  # type: ignore[union-attr]
    done = wait_task(clock, lab, task.id, step=0.25)
    assert done.status is TaskStatus.OK
    downtime_ms = done.result["downtime_ms"]
    assert isinstance(downtime_ms, int) and 20 <= downtime_ms <= 500
    assert done.result["rounds"] >= 2  # type: ignore[operator]
    assert f"downtime {downtime_ms} ms" in "\n".join(done.log)
    assert outages(lab, "qemu/101", start) == [pytest.approx(downtime_ms / 1000, abs=0.001)]
    guest = lab.inventory().guest("qemu/101")
    assert guest is not None and guest.node == "pve1" and guest.lock is None
    kinds = [e.kind for e in lab.events() if e.guest == "qemu/101"]
    assert kinds[0] == "migration_started" and kinds[-2:] == ["stop_and_copy", "migration_done"]
    assert kinds.count("precopy_round") == done.result["rounds"]
    done_event = next(e for e in lab.events() if e.kind == "migration_done")
    assert f"downtime {downtime_ms} ms" in done_event.message


def test_probe_follows_the_stop_and_copy_exactly(lab: SimBackend, clock: ManualClock) -> None:
    task = lab.migrate("qemu/100", "pve3", MigrationMode.LIVE)
    wait_task(clock, lab, task.id, step=0.5)
    pause = next(e.time for e in lab.events() if e.kind == "stop_and_copy")
    resume = next(e.time for e in lab.events() if e.kind == "migration_done")
    # Replay the same migration on a twin cluster, probing around both edges.
    twin_clock = ManualClock()
    twin = SimBackend(lab.cfg, clock=twin_clock)
    twin.ha_remove("qemu/100")
    twin.migrate("qemu/100", "pve3", MigrationMode.LIVE)
    answers = []
    for at in (pause - 0.001, pause + 0.001, resume - 0.001, resume + 0.001):
        twin_clock.advance(at - twin_clock.now())
        answers.append(twin.probe("qemu/100") is not None)
    assert answers == [True, False, False, True]


def test_a_container_migrates_by_restart_and_is_down_for_seconds(
        lab: SimBackend, clock: ManualClock) -> None:
    with pytest.raises(NotSupported, match="restart mode"):
        lab.migrate("lxc/201", "pve1", MigrationMode.LIVE)
    start = lab.now()
    done = wait_task(clock, lab, lab.migrate("lxc/201", "pve1", MigrationMode.RESTART).id)
    assert done.status is TaskStatus.OK
    clock.advance(10)
    lab.inventory()
    (gap,) = outages(lab, "lxc/201", start)
    assert 4 < gap < 15
    assert done.result["downtime_ms"] == pytest.approx(gap * 1000, abs=1)


def test_local_disks_move_only_offline_and_only_when_asked(lab: SimBackend,
                                                           clock: ManualClock) -> None:
    with pytest.raises(InvalidInput) as live:
        lab.migrate("qemu/102", "pve1", MigrationMode.LIVE)
    assert "local disk" in live.value.fields["node"]
    wait_task(clock, lab, lab.stop("qemu/102").id)
    with pytest.raises(InvalidInput) as unasked:
        lab.migrate("qemu/102", "pve1", MigrationMode.OFFLINE)
    assert "with_local_disks" in unasked.value.fields
    with pytest.raises(InvalidInput) as mode:
        lab.migrate("qemu/102", "pve1", MigrationMode.LIVE, with_local_disks=True)
    assert "offline" in mode.value.fields["mode"]
    task = lab.migrate("qemu/102", "pve1", MigrationMode.OFFLINE, with_local_disks=True)
    done = wait_task(clock, lab, task.id)
    assert done.status is TaskStatus.OK and (done.duration or 0) > 5  # disks copied
    assert lab.inventory().guest("qemu/102").node == "pve1"  # type: ignore[union-attr]


def test_a_migration_aborts_when_its_target_dies(lab: SimBackend, clock: ManualClock) -> None:
    task = lab.migrate("qemu/101", "pve3", MigrationMode.LIVE)
    clock.advance(5)
    lab.inject_fault("pve3", FaultKind.POWER_OFF)
    done = wait_task(clock, lab, task.id)
    assert done.status is TaskStatus.ERROR and "pve3" in (done.error or "")
    guest = lab.inventory().guest("qemu/101")
    assert guest is not None and guest.node == "pve2" and guest.running and guest.lock is None
    assert lab.probe("qemu/101") is not None


def test_probes_answer_a_little_slower_while_the_precopy_fills_the_link(
        lab: SimBackend, clock: ManualClock) -> None:
    quiet = [lab.probe("qemu/100") for _ in range(50)]
    lab.migrate("qemu/100", "pve2", MigrationMode.LIVE)
    clock.advance(5)  # round 1 is under way
    busy = [lab.probe("qemu/100") for _ in range(50)]
    assert all(r is not None and 0.0002 <= r <= 0.00045 for r in quiet)
    assert all(r is not None and 0.00035 <= r <= 0.0009 for r in busy)
    assert sum(busy) / 50 > sum(quiet) / 50 + 0.0001  # type: ignore[arg-type]
