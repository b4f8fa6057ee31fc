"""PVE 9 HA rules in the simulator: resource affinity (together, apart), node affinity
as groups (strict or not), and every placement's candidates with the rule that left
each out (what crm_simulate -s shows)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sim.conftest import wait
from vmconsole.backends.abilities import FaultKind
from vmconsole.backends.base import InvalidInput, MigrationMode
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.backends.sim.ha_rules import ResourceAffinity, compiled
from vmconsole.backends.sim.scenarios import runs_twice
from vmconsole.config import SimCluster
from vmconsole.model import HARequest


def test_keep_apart_moves_a_service_off_its_partners_node(lab: SimBackend,
                                                           clock: ManualClock) -> None:
    lab.ha_set("qemu/103", HASettings(request=HARequest.STARTED))  # test1, on pve1
    wait(clock, lab, 40)
    lab.ha_rule_set("web-apart", ["qemu/100", "qemu/103"], positive=False)
    wait(clock, lab, 120)
    web, test = lab.inventory().guest("qemu/100"), lab.inventory().guest("qemu/103")
    assert web is not None and test is not None and web.node != test.node
    move = next(e for e in lab.events() if e.kind == "ha_move" and "web-apart" in e.message)
    assert "keep apart" in move.message and "candidates:" in move.message
    assert runs_twice(lab.sim.run_log) == []


def test_keep_together_follows_a_partner_without_swapping(lab: SimBackend,
                                                          clock: ManualClock) -> None:
    lab.ha_rule_set("web-with-dns", ["qemu/100", "lxc/200"], positive=True)
    wait(clock, lab, 180)
    web, dns = lab.inventory().guest("qemu/100"), lab.inventory().guest("lxc/200")
    assert web is not None and dns is not None and web.node == dns.node
    moves = [e for e in lab.events() if e.kind == "ha_move"]
    assert len(moves) == 1  # one of them joined the other; no swap back and forth


def test_recovery_honours_keep_apart_and_says_why(lab: SimBackend, clock: ManualClock) -> None:
    """dns1 (pve3) must stay apart from web1 (pve1): when pve3 dies, pve2 is its only
    place, and the recovery says why pve1 was out."""
    lab.ha_rule_set("dns-apart", ["lxc/200", "qemu/100"], positive=False)
    lab.inject_fault("pve3", FaultKind.POWER_OFF)
    wait(clock, lab, 200)
    recovered = next(e for e in lab.events() if e.kind == "recovered")
    assert recovered.node == "pve2"
    assert "pve1 out: rule dns-apart: keep apart" in recovered.message
    assert "pve3 out: offline" in recovered.message
    assert lab.placement("lxc/200")[0].startswith("pve2")


def test_a_strict_group_edited_from_the_api(lab: SimBackend, clock: ManualClock) -> None:
    lab.ha_group_set("only-pve2", {"pve2": 1}, restricted=True)
    lab.ha_set("qemu/100", HASettings(request=HARequest.STARTED, group="only-pve2"))
    wait(clock, lab, 90)
    assert lab.inventory().guest("qemu/100").node == "pve2"  # type: ignore[union-attr]
    lines = lab.placement("qemu/100")
    assert "pve1 out: not in only-pve2's nodes, and one of them is online" in lines


def test_rules_and_groups_are_checked(lab: SimBackend) -> None:
    with pytest.raises(InvalidInput) as bad:
        lab.ha_rule_set("bad rule!", ["qemu/100"], positive=True)
    assert set(bad.value.fields) == {"name", "resources"}
    with pytest.raises(InvalidInput, match="no node pve9"):
        lab.ha_group_set("g", {"pve9": 1})


def test_an_admin_migration_takes_positive_partners_along_in_the_same_round(
        lab: SimBackend, clock: ManualClock) -> None:
    """Manager.pm's queue_resource_motion: migrating one service of a keep-together rule
    queues the same migration for its partners, instead of pulling it back."""
    lab.ha_set("qemu/103", HASettings(request=HARequest.STARTED))  # test1, beside web1
    lab.ha_rule_set("web-with-test", ["qemu/100", "qemu/103"], positive=True)
    wait(clock, lab, 40)
    t0 = lab.now()
    lab.migrate("qemu/100", "pve3", MigrationMode.LIVE)
    wait(clock, lab, 120)
    moves = [e for e in lab.events() if e.kind == "ha_move" and e.time >= t0]
    assert [e.guest for e in moves] == ["qemu/100", "qemu/103"]
    assert moves[0].time == moves[1].time and "positive affinity" in moves[1].message
    inventory = lab.inventory()
    assert {inventory.guest(g).node for g in ("qemu/100", "qemu/103")} == {"pve3"}  # type: ignore[union-attr]


def test_an_admin_migration_onto_a_negative_partner_is_refused(
        lab: SimBackend, clock: ManualClock) -> None:
    lab.ha_rule_set("web-apart-db", ["qemu/100", "qemu/101"], positive=False)
    wait(clock, lab, 20)
    lab.migrate("qemu/100", "pve2", MigrationMode.LIVE)  # db1 runs on pve2
    wait(clock, lab, 60)
    refused = next(e for e in lab.events() if e.kind == "ha_move_refused")
    assert "negative affinity" in refused.message
    web = lab.inventory().guest("qemu/100")
    assert web is not None and web.node == "pve1" and web.running
    assert not any(e.kind == "migration_started" for e in lab.events())


def test_a_negative_rule_holds_for_every_member_of_a_positive_one(
        lab: SimBackend, clock: ManualClock) -> None:
    """Rules/ResourceAffinity.pm's implicit negative rules: web1 stays with test1 and
    test1 apart from dns1, so web1 too stays apart from dns1: its migration onto dns1's
    node is refused, though no rule names web1 and dns1 together."""
    lab.ha_set("qemu/103", HASettings(request=HARequest.STARTED))  # test1, beside web1
    lab.ha_rule_set("web-with-test", ["qemu/100", "qemu/103"], positive=True)
    lab.ha_rule_set("test-apart-dns", ["qemu/103", "lxc/200"], positive=False)
    wait(clock, lab, 40)
    lab.migrate("qemu/100", "pve3", MigrationMode.LIVE)  # dns1 runs on pve3
    wait(clock, lab, 60)
    refused = next(e for e in lab.events() if e.kind == "ha_move_refused")
    assert "200 on pve3 is in negative affinity" in refused.message
    assert lab.inventory().guest("qemu/100").node == "pve1"  # type: ignore[union-attr]


def test_positive_rules_sharing_a_resource_merge() -> None:
    rules = [ResourceAffinity("ab", ("a", "b"), True), ResourceAffinity("bc", ("b", "c"), True),
             ResourceAffinity("cd", ("c", "d"), False)]
    assert [(r.name, r.resources, r.positive) for r in compiled(rules)] == [
        ("_merged-ab-bc", ("a", "b", "c"), True), ("cd", ("c", "d"), False),
        ("_implicit-negative-ab-a-d", ("a", "d"), False),
        ("_implicit-negative-ab-b-d", ("b", "d"), False)]


def test_a_keep_together_partner_takes_its_partners_node_affinity(
        lab: SimBackend, clock: ManualClock) -> None:
    """Rules.pm's implicit node affinity: db1 prefers pve2 (its group); dns1, kept with
    it, prefers pve2 too, so both settle there, instead of failback pulling db1 to pve2
    and the rule pulling it back to dns1 on pve3, round after round."""
    t0 = lab.now()
    lab.ha_rule_set("db-with-dns", ["qemu/101", "lxc/200"], positive=True)
    wait(clock, lab, 400)
    inventory = lab.inventory()
    assert {inventory.guest(g).node for g in ("qemu/101", "lxc/200")} == {"pve2"}  # type: ignore[union-attr]
    moves = [e.time - t0 for e in lab.events() if e.kind == "ha_move"]
    assert len(moves) <= 3 and max(moves) < 120  # settled within two minutes


MIXED = """
name = "mixed"
nodes = ["a1", "a2", "a3"]
[services]
"vm:1" = { node = "a1", state = "started" }
"vm:2" = { node = "a1", state = "started" }
"vm:3" = { node = "a1", state = "started" }
[rules.pair]
resources = ["vm:1", "vm:2"]
affinity = "positive"
[rules.alone]
resources = ["vm:2", "vm:3"]
affinity = "negative"
"""


def test_one_round_resolves_mixed_rules_by_where_partners_are_going(
        tmp_path: Path, clock: ManualClock) -> None:
    """Manager.pm's get_resource_affinity counts a moving partner on its target: in one
    round vm:1 leaves vm:3 (implicitly apart), vm:2 follows vm:1 where it is going, and
    vm:3 leaves the node the other two are still on; nothing moves after."""
    lesson = tmp_path / "mixed.toml"
    lesson.write_text(MIXED)
    backend = SimBackend(SimCluster(scenario=str(lesson)), clock=clock)
    wait(clock, backend, 200)
    moves = [e for e in backend.events() if e.kind == "ha_move"]
    assert len({e.time for e in moves}) == 1, [(e.time, e.guest) for e in moves]
    nodes = {g: backend.inventory().guest(g).node for g in ("qemu/1", "qemu/2", "qemu/3")}  # type: ignore[union-attr]
    assert nodes["qemu/1"] == nodes["qemu/2"] != nodes["qemu/3"]
    assert runs_twice(backend.sim.run_log) == []


def test_a_service_whose_rules_forbid_its_node_moves_before_it_starts(
        lab: SimBackend, clock: ManualClock) -> None:
    # test1 (stopped, on pve1) joins a strict group of pve2 and is asked to start:
    # Manager.pm's next_state_started, run again in the round that sets it `started`,
    # moves it before its LRM starts it, so it never runs on pve1.
    lab.ha_group_set("only-pve2", {"pve2": 1}, restricted=True)
    lab.ha_set("qemu/103", HASettings(request=HARequest.STARTED, group="only-pve2"))
    wait(clock, lab, 60)
    test1 = lab.inventory().guest("qemu/103")
    assert test1 is not None and test1.node == "pve2" and test1.running
    assert [r.node for r in lab.sim.run_log if r.guest == "qemu/103"] == ["pve2"]
    move = next(e.message for e in lab.events()
                if e.guest == "qemu/103" and e.kind == "ha_move")
    assert move.startswith("103: its node pve1 is out (not in only-pve2's nodes, and one of "
                           "them is online): it goes to pve2 before it starts")
