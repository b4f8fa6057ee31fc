"""The simulator's side of `vmconsole.backends.ha_config`: HA rules as the console's
screens read and change them, each change checked first as pve-ha-manager's rule
checker does (`PVE::HA::Rules` and its NodeAffinity and ResourceAffinity plugins), with
the reason in words, by field.

A node-affinity rule is the simulator's HA group (`HAGroup`, restricted = strict), its
resources the HA services that name the group, as PVE 9 migrates groups to rules. A
negative rule is kept as Proxmox keeps it internally: a positive rule over the other
nodes (`HAGroup.avoided` remembers the nodes it named, to show it as written).
"""

from __future__ import annotations

import re

from vmconsole.backends.base import Conflict, InvalidInput
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.ha_config import (
    CRSView,
    HAResourceRef,
    HARules,
    NodeAffinityRule,
    ResourceAffinityRule,
)
from vmconsole.backends.sim import ha_admin, ha_rules
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.guards import ensure_cluster_quorate
from vmconsole.backends.sim.ha import HAManager
from vmconsole.backends.sim.ha_rules import ResourceAffinity
from vmconsole.backends.sim.state import HAGroup, SimGuest

# pve-configid: what Proxmox accepts as a rule's id.
_RULE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{1,39}$")
MAX_PRIORITY = 1000


def _sids(sim: Sim, guest_ids: object) -> str:
    """Guest ids as Proxmox names HA resources: "vm:100, ct:200"."""
    return ", ".join(ha_rules.sid(sim.guests[g]) if g in sim.guests else str(g)
                     for g in sorted(guest_ids))  # type: ignore[call-overload]


def _ref(guest: SimGuest) -> HAResourceRef:
    return HAResourceRef(guest.id, ha_rules.sid(guest), guest.name, guest.ha is not None)


def _node_rule(sim: Sim, group: HAGroup) -> NodeAffinityRule:
    members = tuple(g.id for g in sim.guests.values()
                    if g.ha is not None and g.ha.group == group.name)
    if group.avoided:
        return NodeAffinityRule(group.name, dict.fromkeys(group.avoided, 0), False,
                                group.restricted, group.nofailback, members)
    return NodeAffinityRule(group.name, dict(group.priorities), True, group.restricted,
                            group.nofailback, members)


def read(sim: Sim) -> HARules:
    """Every rule, with the nodes and guests a rule may name (templates left out)."""
    return HARules(
        tuple(sim.nodes),
        tuple(_ref(g) for g in sorted(sim.guests.values(), key=lambda g: g.vmid)
              if not g.template),
        tuple(_node_rule(sim, g) for g in sim.groups.values()),
        tuple(ResourceAffinityRule(r.name, r.resources, r.positive)
              for r in sim.affinity_rules))


def crs_view(manager: HAManager) -> CRSView:
    crs = manager.crs
    return CRSView(crs.mode, crs.auto_rebalance, crs.threshold, crs.hold, crs.margin)


# --- the checks -----------------------------------------------------------------------


def _name_problem(name: str, taken_by_other_kind: bool, exists: bool) -> str | None:
    """A new rule's name must be a pve-configid; one a lesson file gave stays editable."""
    if not exists and not _RULE_NAME.match(name):
        return "2-40 letters, digits, - and _, starting with a letter"
    if taken_by_other_kind:
        return f"a rule of the other kind is named {name}: rule names are one namespace"
    return None


def _resource_problem(sim: Sim, resources: tuple[str, ...]) -> str | None:
    unknown = [r for r in resources if r not in sim.guests]
    if unknown:
        return f"no guest {', '.join(unknown)}"
    not_ha = [ha_rules.sid(sim.guests[r]) for r in resources if sim.guests[r].ha is None]
    if not_ha:
        return (f"{', '.join(not_ha)} {'is' if len(not_ha) == 1 else 'are'} not an HA "
                "resource: make it one first (H on the guest)")
    return None


def _strict_nodes(sim: Sim, guest_id: str, rule: NodeAffinityRule | None = None,
                  skip: str = "") -> set[str] | None:
    """The nodes a strict node-affinity rule leaves a resource (None: no strict rule);
    `rule` stands in for the one being written, `skip` for its old version."""
    rules = [_node_rule(sim, g) for g in sim.groups.values() if g.name != skip]
    if rule is not None:
        rules.append(rule)
    for r in rules:
        if r.strict and guest_id in r.resources:
            return set(r.nodes) if r.positive else set(sim.nodes) - set(r.nodes)
    return None


def node_affinity_problems(sim: Sim, rule: NodeAffinityRule) -> dict[str, str]:
    """Why Proxmox's rule checker would refuse this node-affinity rule, by field."""
    problems: dict[str, str] = {}
    other_names = {r.name for r in sim.affinity_rules}
    if reason := _name_problem(rule.name, rule.name in other_names, rule.name in sim.groups):
        problems["name"] = reason
    unknown = [n for n in rule.nodes if n not in sim.nodes]
    if not rule.nodes:
        problems["nodes"] = "name one node or more"
    elif unknown:
        problems["nodes"] = (f"no node {', '.join(unknown)} (nodes: "
                             f"{', '.join(sim.nodes)})")
    elif not rule.positive and any(rule.nodes.values()):
        problems["nodes"] = "a negative rule's nodes take no priority"
    elif not rule.positive and set(rule.nodes) >= set(sim.nodes):
        problems["nodes"] = "a negative rule over every node leaves its resources nowhere"
    elif any(not 0 <= p <= MAX_PRIORITY for p in rule.nodes.values()):
        problems["nodes"] = f"priorities are 0 to {MAX_PRIORITY}"
    if reason := _resource_problem(sim, rule.resources):
        problems["resources"] = reason
    else:
        for other in sim.groups.values():
            taken = [ha_rules.sid(sim.guests[r]) for r in rule.resources
                     if other.name != rule.name and (g := sim.guests[r].ha) is not None
                     and g.group == other.name]
            if taken:
                problems["resources"] = (f"{', '.join(taken)} already in node-affinity rule "
                                         f"{other.name} (one such rule per resource)")
                break
    if problems:
        return problems
    for together in (r for r in sim.affinity_rules if r.positive):
        if reason := _together_conflict(sim, together, rule):
            problems["resources" if not rule.strict else "nodes"] = reason
            break
    return problems


def _together_conflict(sim: Sim, together: ResourceAffinity,
                       rule: NodeAffinityRule | None = None) -> str | None:
    """A keep-together rule whose resources' strict node sets share no node."""
    common = set(sim.nodes)
    for member in together.resources:
        allowed = _strict_nodes(sim, member, rule, rule.name if rule else "")
        if allowed is not None:
            common &= allowed
    if common:
        return None
    return (f"contradicts rule {together.name}: it keeps "
            f"{_sids(sim, together.resources)} together, and their strict node-affinity "
            "rules share no node")


def resource_affinity_problems(sim: Sim, rule: ResourceAffinityRule) -> dict[str, str]:
    """Why Proxmox's rule checker would refuse this resource-affinity rule, by field."""
    problems: dict[str, str] = {}
    if reason := _name_problem(rule.name, rule.name in sim.groups, any(
            r.name == rule.name for r in sim.affinity_rules)):
        problems["name"] = reason
    resources = tuple(dict.fromkeys(rule.resources))
    if reason := _resource_problem(sim, resources):
        problems["resources"] = reason
    elif len(resources) < 2:
        problems["resources"] = "name two HA resources or more"
    elif not rule.positive and len(resources) > len(sim.nodes):
        problems["resources"] = (f"keeping {len(resources)} resources apart needs "
                                 f"{len(resources)} nodes; the cluster has {len(sim.nodes)}")
    if problems:
        return problems
    for other in sim.affinity_rules:
        shared = set(other.resources) & set(resources)
        if other.name != rule.name and other.positive != rule.positive and len(shared) > 1:
            problems["resources"] = (
                f"contradicts rule {other.name}: it keeps {_sids(sim, shared)} "
                f"{'together' if other.positive else 'apart'}")
            return problems
    if rule.positive and (reason := _together_conflict(
            sim, ResourceAffinity(rule.name, resources, True))):
        problems["resources"] = reason
    return problems


def _refuse(what: str, problems: dict[str, str]) -> None:
    if problems:
        raise InvalidInput(f"{what} refused: " + "; ".join(
            f"{k}: {v}" for k, v in problems.items()), problems)


# --- the changes ----------------------------------------------------------------------


def node_affinity_set(sim: Sim, rule: NodeAffinityRule) -> None:
    """Add or replace a node-affinity rule and make `rule.resources` its members
    (resources it had before and no longer names are freed)."""
    _refuse("node-affinity rule", node_affinity_problems(sim, rule))
    ensure_cluster_quorate(sim)
    if rule.positive:
        group = HAGroup(rule.name, dict(rule.nodes), rule.strict, rule.nofailback)
    else:
        group = HAGroup(rule.name, {n: 1 for n in sim.nodes if n not in rule.nodes},
                        rule.strict, rule.nofailback, tuple(rule.nodes))
    ha_admin.group_set(sim, group)
    for guest in sim.guests.values():
        ha = guest.ha
        if ha is None:
            continue
        if guest.id in rule.resources and ha.group != rule.name:
            ha.group, ha.nodes = rule.name, ()
            sim.touch(guest.id)
        elif guest.id not in rule.resources and ha.group == rule.name:
            ha.group = None
            sim.touch(guest.id)


def node_affinity_remove(sim: Sim, name: str) -> None:
    """Remove a node-affinity rule; its resources may then run on any node."""
    if name not in sim.groups:
        raise Conflict(f"no node-affinity rule '{name}'")
    ensure_cluster_quorate(sim)
    del sim.groups[name]
    freed = []
    for guest in sim.guests.values():
        if guest.ha is not None and guest.ha.group == name:
            guest.ha.group = None
            freed.append(ha_rules.sid(guest))
            sim.touch(guest.id)
    sim.narrate(EventKind.HA_REQUEST, f"node-affinity rule {name} removed" + (
        f": {', '.join(freed)} may run on any node" if freed else ""))


def resource_affinity_set(sim: Sim, manager: HAManager, rule: ResourceAffinityRule) -> None:
    """Add or replace a resource-affinity rule after Proxmox's checks."""
    _refuse("resource-affinity rule", resource_affinity_problems(sim, rule))
    ha_admin.rule_set(sim, manager, ResourceAffinity(
        rule.name, tuple(dict.fromkeys(rule.resources)), rule.positive))
