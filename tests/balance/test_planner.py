"""The planner on the simulator's inventory: TOPSIS as Proxmox ranks, a plan that evens
the load, and the guests it may not move with their reasons."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vmconsole.backends.sim import SimBackend
from vmconsole.balance import AffinityRule, Rules, best_target, plan
from vmconsole.balance.topsis import Criterion, score
from vmconsole.config import SimCluster
from vmconsole.model import HAConfig, Inventory, NodeHAState

MAX_MIN = (Criterion("max", 1.0), Criterion("min", -1.0))
MIN_MIN = (Criterion("min1", -1.0), Criterion("min2", -1.0))
MATRIX = [[0.0, 1.0], [1.0, 0.0], [1.0, -1.0], [1.0, 1.0], [0.0, 0.0]]


def ranking(scores: list[float]) -> list[int]:
    return sorted(range(len(scores)), key=lambda i: -scores[i])


@pytest.mark.parametrize(("criteria", "expected"), [(MAX_MIN, [2, 1, 4, 3, 0]),
                                                    (MIN_MIN, [2, 4, 1, 0, 3])])
def test_topsis_ranks_as_proxmox_resource_scheduling_does(criteria, expected) -> None:
    # The rankings of tests/topsis.rs (test_topsis_two_criteria) in proxmox-resource-scheduling.
    assert ranking(score(MATRIX, criteria)) == expected


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return SimBackend(SimCluster()).inventory()


def test_the_static_plan_moves_proxy1_off_the_busiest_node(inventory: Inventory) -> None:
    result = plan(inventory, mode="static")
    loads = {n.node: n for n in result.nodes}
    assert loads["pve2"].mem_before == pytest.approx(31.25)  # db1 4 GiB + proxy1 1 GiB of 16
    first = result.moves[0]
    assert (first.name, first.source, first.target) == ("proxy1", "pve2", "pve1")
    assert "TOPSIS score" in first.reason
    # loads (CPU% + memory%) / 2: pve1 31.25, pve2 53.125, pve3 45.3125, then 46.875,
    # 37.5, 45.3125; the imbalance is their coefficient of variation
    assert result.imbalance_before == pytest.approx(0.2094, abs=1e-4)
    assert result.imbalance_after == pytest.approx(0.0949, abs=1e-4)
    assert first.gain == pytest.approx(result.imbalance_before - result.imbalance_after)
    assert loads["pve2"].mem_after == pytest.approx(25.0)
    stuck = {s.name: s.reason for s in result.stuck}
    assert stuck["build1"] == "disk on local storage local-lvm: cannot migrate live"


def test_a_move_a_rule_forbids_is_not_proposed_and_is_named(inventory: Inventory) -> None:
    rules = Rules(refused={"lxc/201": {"pve1": "group web: pve1 is not a member"}})
    result = plan(inventory, rules, mode="static")
    assert all((m.guest, m.target) != ("lxc/201", "pve1") for m in result.moves)
    assert result.blocked[0].blocked_by == "group web: pve1 is not a member"
    assert (result.blocked[0].guest, result.blocked[0].target) == ("lxc/201", "pve1")


def test_keep_apart_and_keep_together(inventory: Inventory) -> None:
    apart = AffinityRule("spread", frozenset({"lxc/201", "qemu/100"}), together=False)
    result = plan(inventory, Rules(affinity=(apart,)), mode="static")
    assert all((m.guest, m.target) != ("lxc/201", "pve1") for m in result.moves)
    assert any("rule spread: keep apart" in m.blocked_by for m in result.blocked)
    together = AffinityRule("pair", frozenset({"lxc/201", "qemu/101"}), together=True)
    stuck = {s.name: s.reason for s in plan(inventory, Rules(affinity=(together,))).stuck}
    assert stuck["proxy1"].startswith("rule pair: kept together")


def test_ha_guests_are_left_to_proxmoxs_crs_where_it_runs(inventory: Inventory) -> None:
    ha = replace(inventory, guests=tuple(
        replace(g, ha=HAConfig()) if g.id == "lxc/201" else g for g in inventory.guests))
    result = plan(ha, Rules(crs="static"))
    assert "lxc/201" not in {m.guest for m in result.moves}
    assert {s.name: s.reason for s in result.stuck}["proxy1"] == (
        "HA-managed: left to Proxmox's CRS (ha=static)")
    assert result.notes[0] == "HA-managed guests are left to Proxmox's own CRS (ha=static)"


def test_maintenance_and_free_memory_rule_out_targets(inventory: Inventory) -> None:
    nodes = tuple(replace(n, ha_state=NodeHAState.MAINTENANCE) if n.name == "pve1" else
                  replace(n, maxmem=5 * 2**30) if n.name == "pve3" else n
                  for n in inventory.nodes)
    crowded = replace(inventory, nodes=nodes)
    target, why = best_target(crowded, "qemu/101")
    assert target is None
    assert "pve1 is in maintenance" in why and "pve3 has" in why
    assert "node pve1 is in maintenance" in plan(crowded).notes


def test_best_target_scores_the_allowed_nodes(inventory: Inventory) -> None:
    target, why = best_target(inventory, "qemu/101", exclude=("pve1",))
    assert target == "pve3" and why.startswith("TOPSIS score")
    with pytest.raises(KeyError):
        best_target(inventory, "qemu/999")


def test_best_target_counts_the_guests_already_sent_away(inventory: Inventory) -> None:
    # Emptying pve2 guest by guest: db1 first, then proxy1 knows where db1 went.
    first, _ = best_target(inventory, "qemu/101", exclude=("pve2",))
    alone, _ = best_target(inventory, "lxc/201", exclude=("pve2",))
    after, _ = best_target(inventory, "lxc/201", exclude=("pve2",), moved={"qemu/101": first})
    assert first == alone == "pve1" and after == "pve3"


def test_a_guests_own_ha_node_list_is_a_rule(inventory: Inventory) -> None:
    pinned = replace(inventory, guests=tuple(
        replace(g, ha=HAConfig(nodes=("pve2", "pve3"))) if g.id == "lxc/201" else g
        for g in inventory.guests))
    result = plan(pinned)
    assert ("lxc/201", "pve1") not in {(m.guest, m.target) for m in result.moves}
    assert result.blocked[0].blocked_by == "HA node affinity: pve1 is not one of pve2, pve3"


def test_a_lone_or_tied_candidate_scores_as_the_ideal_not_the_worst() -> None:
    """Where every alternative is alike (one candidate, or nodes loaded the same), TOPSIS
    has no spread to measure: each is the ideal, 1.00, not 0.00 (which read as the worst
    in the teaching narration and vCenter's maintenance plan)."""
    from vmconsole.balance.topsis import score

    assert score([[1.2, 1.5, 1.3, 1.4]]) == [1.0]
    assert score([[1.2, 1.5, 1.3, 1.4]] * 3) == [1.0, 1.0, 1.0]
