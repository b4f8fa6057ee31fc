"""The simulator's side of the console's HA rule, CRS and FT screens: every rule is
checked as pve-ha-manager's rule checker does, with the reason by field, and a saved
rule changes where the HA manager places services."""

from __future__ import annotations

import pytest

from tests.sim.conftest import wait, wait_task
from vmconsole.backends.base import Conflict, InvalidInput
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.backends.sim.ft import FT_LINK_GBIT
from vmconsole.backends.sim.state import HAGroup
from vmconsole.model import HARequest


def refusal(call, *args) -> dict[str, str]:
    with pytest.raises(InvalidInput) as raised:
        call(*args)
    return raised.value.fields


def test_the_rules_read_back_as_written_with_their_members(lab: SimBackend) -> None:
    rules = lab.ha_config()
    assert rules.nodes == ("pve1", "pve2", "pve3")
    prefer = next(r for r in rules.node_affinity if r.name == "prefer-pve2")
    assert prefer.positive and not prefer.strict and prefer.resources == ("qemu/101",)
    assert prefer.nodes == {"pve1": 1, "pve2": 2, "pve3": 1}
    assert {r.sid: r.ha for r in rules.resources}["vm:102"] is False
    lab.ha_node_affinity_set("web-off-pve1", {"pve1": 0}, False, True, False, ["qemu/100"])
    written = next(r for r in lab.ha_config().node_affinity if r.name == "web-off-pve1")
    assert (written.positive, written.strict, written.nodes, written.resources) == (
        False, True, {"pve1": 0}, ("qemu/100",))


@pytest.mark.parametrize(("nodes", "positive", "reason"), [
    ({}, True, "name one node or more"),
    ({"pve9": 1}, True, "no node pve9 (nodes: pve1, pve2, pve3)"),
    ({"pve1": 2}, False, "a negative rule's nodes take no priority"),
    ({"pve1": 0, "pve2": 0, "pve3": 0}, False, "leaves its resources nowhere"),
])
def test_a_node_affinity_rule_with_bad_nodes_is_refused_with_why(
        lab: SimBackend, nodes: dict[str, int], positive: bool, reason: str) -> None:
    fields = refusal(lab.ha_node_affinity_set, "r1", nodes, positive, True, False,
                     ["qemu/100"])
    assert reason in fields["nodes"]
    assert "r1" not in {r.name for r in lab.ha_config().node_affinity}


def test_resources_must_be_ha_resources_in_one_node_affinity_rule(lab: SimBackend) -> None:
    assert "vm:102 is not an HA resource" in refusal(
        lab.ha_node_affinity_set, "r1", {"pve1": 1}, True, False, False, ["qemu/102"]
    )["resources"]
    assert "already in node-affinity rule prefer-pve2" in refusal(
        lab.ha_node_affinity_set, "r1", {"pve1": 1}, True, False, False, ["qemu/101"]
    )["resources"]
    assert "2-40 letters" in refusal(
        lab.ha_node_affinity_set, "1st", {"pve1": 1}, True, False, False, [])["name"]


def test_a_rule_that_contradicts_another_says_which(lab: SimBackend) -> None:
    lab.ha_resource_affinity_set("web-with-dns", ["qemu/100", "lxc/200"], True)
    fields = refusal(lab.ha_resource_affinity_set, "web-apart-dns",
                     ["lxc/200", "qemu/100"], False)
    assert fields["resources"] == ("contradicts rule web-with-dns: it keeps ct:200, vm:100 "
                                   "together")
    lab.ha_node_affinity_set("web-on-pve1", {"pve1": 1}, True, True, False, ["qemu/100"])
    fields = refusal(lab.ha_node_affinity_set, "dns-on-pve3", {"pve3": 1}, True, True, False,
                     ["lxc/200"])
    assert "contradicts rule web-with-dns" in fields["nodes"]
    assert "share no node" in fields["nodes"]
    assert "a rule of the other kind" in refusal(
        lab.ha_resource_affinity_set, "web-on-pve1", ["qemu/100", "lxc/200"], False)["name"]
    lab.ha_set("qemu/103", HASettings(request=HARequest.STOPPED))
    assert "keeping 4 resources apart needs 4 nodes; the cluster has 3" in refusal(
        lab.ha_resource_affinity_set, "all-apart",
        ["qemu/100", "qemu/101", "lxc/200", "qemu/100", "qemu/103"], False)["resources"]
    assert "name two HA resources or more" in refusal(
        lab.ha_resource_affinity_set, "alone", ["qemu/100"], True)["resources"]


def test_a_negative_node_affinity_rule_moves_its_service_off_the_node(
        lab: SimBackend, clock: ManualClock) -> None:
    assert lab.inventory().guest("qemu/100").node == "pve1"  # type: ignore[union-attr]
    lab.ha_node_affinity_set("web-not-pve1", {"pve1": 0}, False, True, False, ["qemu/100"])
    wait(clock, lab, 90)
    web = lab.inventory().guest("qemu/100")
    assert web is not None and web.node != "pve1" and web.ha is not None
    assert web.ha.group == "web-not-pve1"
    lab.ha_node_affinity_remove("web-not-pve1")
    assert lab.inventory().guest("qemu/100").ha.group is None  # type: ignore[union-attr]
    with pytest.raises(Conflict, match="no node-affinity rule"):
        lab.ha_node_affinity_remove("web-not-pve1")


def test_crs_settings_read_back_and_bad_values_are_refused_by_field(lab: SimBackend) -> None:
    lab.set_crs("static", True, 0.4, 4, 0.2)
    crs = lab.crs_settings()
    assert (crs.mode, crs.auto_rebalance, crs.threshold, crs.hold, crs.margin) == (
        "static", True, 0.4, 4, 0.2)
    fields = refusal(lab.set_crs, "random", True, 0.0, 0, 2.0)
    assert set(fields) == {"mode", "threshold", "hold", "margin"}


def test_ft_limits_give_each_nodes_verdict_and_the_vms_state(
        lab: SimBackend, clock: ManualClock) -> None:
    limits = lab.ft_limits("qemu/103")  # test1: stopped, and the lab has a 1 Gbit link
    assert "10 Gbit link" in " ".join(limits.refusals)
    lab.sim.ft_link_gbit = FT_LINK_GBIT
    assert "not running" in " ".join(lab.ft_limits("qemu/103").refusals)
    assert "HA resource" in " ".join(lab.ft_limits("qemu/100").refusals)
    wait_task(clock, lab, lab.start("qemu/103").id)
    wait(clock, lab, 40)
    limits = lab.ft_limits("qemu/103")
    assert not limits.refusals and not limits.protected
    assert {h.node: h.refusal for h in limits.hosts} == {
        "pve1": "the primary's own node", "pve2": None, "pve3": None}
    lab.sim.guests["qemu/103"].maxcpu = 9
    hosts = {h.node: h.refusal for h in lab.ft_limits("qemu/103").hosts}
    assert "would carry 9 FT vCPUs (at most 8 per host)" in (hosts["pve2"] or "")
    lab.sim.guests["qemu/103"].maxcpu = 1
    lab.set_fault_tolerance("qemu/103", "pve2")
    limits = lab.ft_limits("qemu/103")
    assert limits.protected and limits.secondary == "pve2" and not limits.refusals
    assert {h.node: (h.vms, h.vcpus) for h in limits.hosts}["pve2"] == (0, 0)  # itself apart
    ft = lab.inventory().guest("qemu/103").fault_tolerance  # type: ignore[union-attr]
    assert ft is not None and ft.secondary == "pve2" and ft.checkpoint_ms == 25
    assert 0 < ft.slowdown < 50 and 0 < ft.link_load < 100
    lab.set_fault_tolerance("qemu/103", None)
    assert lab.inventory().guest("qemu/103").fault_tolerance is None  # type: ignore[union-attr]


def test_the_ha_forms_node_priorities_are_read_as_proxmox_writes_them(
        lab: SimBackend) -> None:
    """`pve1:2,pve2:1`, the syntax the HA form's hint teaches (a tester found every such
    list refused as "no node pve1:2"); a malformed entry or an unknown node is named."""
    lab.ha_set("qemu/103", HASettings(request=HARequest.STARTED, nodes=("pve1:2", "pve2:1")))
    ha = lab.inventory().guest("qemu/103").ha  # type: ignore[union-attr]
    assert ha is not None and ha.nodes == ("pve1:2", "pve2:1")
    assert "not <node>[:<priority>]" in refusal(
        lab.ha_set, "qemu/103", HASettings(nodes=("pve1:high",)))["nodes"]
    assert refusal(lab.ha_set, "qemu/103", HASettings(nodes=("pve1:2", "pve9:1")))[
        "nodes"] == "no node pve9"


def test_a_rule_over_a_service_set_from_the_ha_form_keeps_working(
        lab: SimBackend, clock: ManualClock) -> None:
    """A node-affinity rule takes the service from the form's own node list (a service
    has a group or nodes, not both)."""
    lab.ha_set("qemu/103", HASettings(request=HARequest.STARTED, nodes=("pve1",)))
    wait(clock, lab, 30)
    lab.ha_node_affinity_set("test-on-pve3", {"pve3": 1}, True, True, False, ["qemu/103"])
    ha = lab.inventory().guest("qemu/103").ha  # type: ignore[union-attr]
    assert ha is not None and ha.group == "test-on-pve3" and ha.nodes == ()


def test_a_rule_a_lesson_named_outside_proxmoxs_syntax_stays_editable(lab: SimBackend) -> None:
    lab.sim.groups["g"] = HAGroup("g", {"pve1": 1})  # a lesson file's group
    lab.ha_node_affinity_set("g", {"pve2": 1}, True, False, False, [])
    assert next(r for r in lab.ha_config().node_affinity if r.name == "g").nodes == {"pve2": 1}
    assert "2-40 letters" in refusal(
        lab.ha_node_affinity_set, "h", {"pve2": 1}, True, False, False, [])["name"]
