"""Load balancing (Proxmox's CRS, VMware's DRS): the plan with its expected gain,
applied by hand or automatically, and a move a rule forbids."""

from __future__ import annotations

import pytest

from tests.sim.conftest import wait
from vmconsole.backends.base import HASettings, InvalidInput
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.balance import plan
from vmconsole.config import SimCluster
from vmconsole.model import HARequest


def imbalanced(clock: ManualClock) -> SimBackend:
    lab = SimBackend(SimCluster(), clock=clock)
    lab.set_crs("static")
    lab.ha_set("qemu/103", HASettings(request=HARequest.STARTED))  # test1 on pve1
    lab.ha_set("lxc/201", HASettings(request=HARequest.STARTED))  # proxy1 on pve2
    wait(clock, lab, 60)
    return lab


def imbalance(lab: SimBackend) -> float:
    return float(lab.crs_plan()[0].split("imbalance ")[1].split(" ")[0])


def test_the_plan_names_a_move_and_its_gain_and_applying_it_evens_the_load(
        clock: ManualClock) -> None:
    lab = imbalanced(clock)
    before = imbalance(lab)
    head, first = lab.crs_plan()[:2]
    assert "pve2 39% (CPU 75%, memory 31%)" in head
    assert first.startswith("201 (proxy1) pve2 -> pve3")
    assert lab.crs_apply(1) == 1
    wait(clock, lab, 60)
    assert lab.inventory().guest("lxc/201").node == "pve3"  # type: ignore[union-attr]
    assert imbalance(lab) < before


@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_the_lesson_and_a_real_clusters_plan_measure_alike(clock: ManualClock, mode: str
                                                           ) -> None:
    # The console's rebalance plan reads the inventory a real cluster gives; the CRS's
    # lesson reads the simulator's state: the same planner, so the same figures.
    lab = imbalanced(clock)
    lab.set_crs(mode)
    whole = plan(lab.inventory(), mode=mode)
    # The plan prints one decimal; the inventory samples guests on its poll grid.
    assert imbalance(lab) == pytest.approx(whole.imbalance_before, abs=0.1)


def test_a_rule_that_forbids_the_best_move_is_named(clock: ManualClock) -> None:
    lab = imbalanced(clock)
    lab.ha_rule_set("proxy-with-db", ["lxc/201", "qemu/101"], positive=True)
    plan = lab.crs_plan()[1:]
    # proxy1 now stays with db1, and takes db1's group (prefer-pve2) as its own
    blocked = [line for line in plan if "kept together with it" in line]
    assert blocked and blocked[0].startswith("201 (proxy1) pve2 -> pve3")


def test_auto_rebalance_acts_after_its_hold(clock: ManualClock) -> None:
    lab = imbalanced(clock)
    t0 = lab.now()
    lab.set_crs("static", auto_rebalance=True, threshold=4, hold=3, margin=2)
    wait(clock, lab, 60)
    move = next(e for e in lab.events() if e.kind == "ha_move" and "load balancing" in
                e.message)
    assert move.time - t0 >= 2 * 10  # held for its rounds first
    lab.set_crs("static", auto_rebalance=True, threshold=4, hold=3, margin=50)
    wait(clock, lab, 60)
    assert len([e for e in lab.events() if "load balancing" in e.message]) == 1


def test_crs_settings_are_checked(lab: SimBackend) -> None:
    with pytest.raises(InvalidInput) as bad:
        lab.set_crs("magic", threshold=0, hold=0)
    assert set(bad.value.fields) == {"mode", "threshold", "hold"}
