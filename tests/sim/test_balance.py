"""Load balancing (Proxmox's CRS, VMware's DRS): the plan with its expected gain,
applied by hand or automatically, and a move a rule forbids."""

from __future__ import annotations

import pytest

from tests.sim.conftest import wait
from vmconsole.backends.base import InvalidInput, MigrationMode
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.balance import plan
from vmconsole.config import SimCluster
from vmconsole.model import HARequest


def imbalanced(clock: ManualClock) -> SimBackend:
    lab = SimBackend(SimCluster(), clock=clock)
    lab.set_crs("static")
    lab.ha_set("qemu/103", HASettings(request=HARequest.STARTED))  # test1 on pve1
    lab.ha_set("lxc/201", HASettings(request=HARequest.STARTED))  # proxy1 on pve2
    lab.migrate("qemu/100", "pve2", MigrationMode.LIVE)  # web1 joins db1 and proxy1
    wait(clock, lab, 60)
    return lab


def imbalance(lab: SimBackend) -> float:
    return float(lab.crs_plan()[0].split("imbalance ")[1].split(" ")[0])


def test_the_plan_names_a_move_and_its_gain_and_applying_it_evens_the_load(
        clock: ManualClock) -> None:
    lab = imbalanced(clock)
    before = imbalance(lab)
    head, first = lab.crs_plan()[:2]
    # a node's load is the mean of its CPU and memory percent; the imbalance their
    # coefficient of variation (Proxmox's measure)
    assert "imbalance 0.58 (pve1 16% (CPU 25%, memory 6%), pve2 84% (CPU 125%, memory " \
        "44%)" in head
    assert first == "100 (web1) pve2 -> pve1: imbalance -0.51"
    assert lab.crs_apply(1) == 1
    wait(clock, lab, 60)
    assert lab.inventory().guest("qemu/100").node == "pve1"  # type: ignore[union-attr]
    assert imbalance(lab) == pytest.approx(before - 0.51, abs=0.01)


def test_the_lesson_and_a_real_clusters_plan_measure_alike(clock: ManualClock) -> None:
    # The console's rebalance plan reads the inventory a real cluster gives; the CRS's
    # lesson reads the simulator's state: the same planner, so the same figures.
    lab = imbalanced(clock)
    whole = plan(lab.inventory(), mode="static")
    assert imbalance(lab) == pytest.approx(whole.imbalance_before, abs=0.005)


def test_a_rule_that_forbids_the_best_move_is_named(clock: ManualClock) -> None:
    lab = imbalanced(clock)
    lab.ha_rule_set("web-with-db", ["qemu/100", "qemu/101"], positive=True)
    plan = lab.crs_plan()[1:]
    # web1 now stays with db1, and takes db1's group (prefer-pve2) as its own
    blocked = [line for line in plan if "kept together with it" in line]
    assert blocked and blocked[0].startswith("100 (web1) pve2 -> pve1 would lower the "
                                             "imbalance by 0.51 but prefer-pve2")
    assert plan[0] == "201 (proxy1) pve2 -> pve1: imbalance -0.26"  # the next best


def test_auto_rebalance_acts_after_its_hold(clock: ManualClock) -> None:
    lab = imbalanced(clock)
    t0 = lab.now()
    lab.set_crs("static", auto_rebalance=True, threshold=0.3, hold=3, margin=0.1)
    wait(clock, lab, 60)
    moves = [e for e in lab.events() if e.kind == "ha_move" and "auto rebalance" in e.message]
    assert len(moves) == 1 and moves[0].message.startswith("100 moves to pve1")
    assert "imbalance expected from 0.58 to 0.07" in moves[0].message
    assert moves[0].time - t0 >= 2 * 10  # held for its rounds first
    # under the threshold now (0.07 < 0.3): nothing more moves
    wait(clock, lab, 60)
    assert len([e for e in lab.events() if "auto rebalance" in e.message]) == 1


def test_auto_rebalance_needs_its_margin(clock: ManualClock) -> None:
    lab = imbalanced(clock)
    # the best move lowers the imbalance by 88 % of itself: a margin of 0.9 refuses it
    lab.set_crs("static", auto_rebalance=True, threshold=0.3, hold=1, margin=0.9)
    wait(clock, lab, 60)
    assert not [e for e in lab.events() if "auto rebalance" in e.message]
    assert lab.inventory().guest("qemu/100").node == "pve2"  # type: ignore[union-attr]


def test_crs_settings_are_checked(lab: SimBackend) -> None:
    with pytest.raises(InvalidInput) as bad:
        lab.set_crs("magic", threshold=0, hold=0, margin=1.5)
    assert set(bad.value.fields) == {"mode", "threshold", "hold", "margin"}
