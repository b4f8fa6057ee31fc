"""Snapshots: a tree with parents, RAM state that takes time, rollback, delete, locks."""

from __future__ import annotations

import pytest

from tests.sim.conftest import wait, wait_task
from vmconsole.backends.base import (
    Conflict,
    InvalidInput,
    MigrationMode,
    NotSupported,
    TaskStatus,
)
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.model import GuestStatus


def snap(lab: SimBackend, clock: ManualClock, guest: str, name: str, ram: bool = False
         ) -> float:
    task = wait_task(clock, lab, lab.snapshot_create(guest, name, f"{name} notes", ram).id,
                     step=0.1)
    assert task.status is TaskStatus.OK
    return task.duration or 0.0


def current(lab: SimBackend, guest: str) -> str:
    (here,) = [s.name for s in lab.snapshots(guest) if s.current]
    return here


def test_ram_state_takes_time_in_proportion_to_memory(lab: SimBackend,
                                                      clock: ManualClock) -> None:
    disk_only = snap(lab, clock, "qemu/101", "disk")
    small = snap(lab, clock, "qemu/100", "ram", ram=True)  # 2 GiB
    big = snap(lab, clock, "qemu/101", "ram", ram=True)  # 4 GiB
    assert disk_only < 2
    assert 5 < small < big
    assert big - disk_only == pytest.approx(2 * (small - disk_only), rel=0.01)
    listed = {s.name: s for s in lab.snapshots("qemu/101")}
    assert listed["ram"].vmstate and not listed["disk"].vmstate


def test_the_tree_keeps_parents_through_rollback_and_delete(lab: SimBackend,
                                                             clock: ManualClock) -> None:
    snap(lab, clock, "qemu/103", "base")
    snap(lab, clock, "qemu/103", "updated")
    tree = {s.name: s for s in lab.snapshots("qemu/103")}
    assert tree["updated"].parent == "base" and current(lab, "qemu/103") == "updated"
    assert tree["base"].created is not None and tree["base"].description == "base notes"
    rollback = lab.snapshot_rollback("qemu/103", "base")
    assert wait_task(clock, lab, rollback.id).status is TaskStatus.OK
    snap(lab, clock, "qemu/103", "branch")
    tree = {s.name: s for s in lab.snapshots("qemu/103")}
    assert tree["branch"].parent == "base" and current(lab, "qemu/103") == "branch"
    wait_task(clock, lab, lab.snapshot_delete("qemu/103", "base").id)
    tree = {s.name: s for s in lab.snapshots("qemu/103")}
    assert "base" not in tree
    assert tree["updated"].parent is None and tree["branch"].parent is None


def test_rollback_without_ram_stops_the_guest_with_ram_it_runs_on(
        lab: SimBackend, clock: ManualClock) -> None:
    snap(lab, clock, "qemu/102", "cold")  # build1: running, not HA-managed
    snap(lab, clock, "qemu/102", "warm", ram=True)
    wait_task(clock, lab, lab.snapshot_rollback("qemu/102", "cold").id)
    wait(clock, lab, 60)
    assert lab.inventory().guest("qemu/102").status is GuestStatus.STOPPED  # type: ignore[union-attr]
    wait_task(clock, lab, lab.snapshot_rollback("qemu/102", "warm").id)
    assert lab.inventory().guest("qemu/102").status is GuestStatus.RUNNING  # type: ignore[union-attr]
    assert lab.probe("qemu/102") is not None


def test_an_ha_guest_rolled_back_without_ram_is_started_again_by_the_lrm(
        lab: SimBackend, clock: ManualClock) -> None:
    snap(lab, clock, "qemu/100", "cold")  # web1 on pve1: HA, requested started
    rollback = wait_task(clock, lab, lab.snapshot_rollback("qemu/100", "cold").id)
    stopped = lab.inventory().guest("qemu/100")
    assert stopped is not None and stopped.status is GuestStatus.STOPPED
    assert stopped.ha is not None and stopped.ha.state == "starting"  # as ha-manager says
    assert rollback.ended is not None
    deadline = rollback.ended + 20  # two LRM rounds at most
    while lab.now() < deadline and lab.inventory().guest(
            "qemu/100").status is not GuestStatus.RUNNING:  # type: ignore[union-attr]
        clock.advance(0.5)
    web = lab.inventory().guest("qemu/100")
    assert web is not None and web.status is GuestStatus.RUNNING and web.ha is not None
    assert web.ha.state == "started"
    said = [e.message for e in lab.events() if e.kind == "ha_restart"]
    assert said == ["100 (web1) is stopped after the rollback while HA keeps it started: "
                    "the LRM of pve1 starts it on its next round"]
    starts = [t for t in lab.tasks() if t.target == "qemu/100" and t.operation == "start"]
    assert starts and starts[-1].log[0] == "HA: the LRM of pve1 starts service qemu/100"


def test_a_snapshot_locks_the_guest(lab: SimBackend, clock: ManualClock) -> None:
    task = lab.snapshot_create("qemu/101", "busy", vmstate=True)
    assert lab.inventory().guest("qemu/101").lock == "snapshot"  # type: ignore[union-attr]
    with pytest.raises(Conflict, match=r"busy: a snapshot task is running.*lock: snapshot"):
        lab.migrate("qemu/101", "pve1", MigrationMode.LIVE)
    wait_task(clock, lab, task.id)
    assert lab.inventory().guest("qemu/101").lock is None  # type: ignore[union-attr]


def test_snapshot_refusals(lab: SimBackend, clock: ManualClock) -> None:
    with pytest.raises(InvalidInput) as bad:
        lab.snapshot_create("qemu/100", "1st")
    assert "name" in bad.value.fields
    with pytest.raises(InvalidInput):
        lab.snapshot_create("qemu/100", "current")
    snap(lab, clock, "qemu/100", "once")
    with pytest.raises(Conflict, match="already used"):
        lab.snapshot_create("qemu/100", "once")
    with pytest.raises(NotSupported, match="containers"):
        lab.snapshot_create("lxc/201", "ram", vmstate=True)
