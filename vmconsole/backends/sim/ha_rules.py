"""PVE 9's resource affinity rules (keep services together, or apart) in the simulator:
where each rule's partners are placed, for `vmconsole.ha.rules.select_service_node`,
which applies them with node affinity as Manager.pm does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from vmconsole.backends.sim.state import ACTIVE_STATES, MOVING_STATES, SimGuest
from vmconsole.model import GuestKind, HAState

if TYPE_CHECKING:
    from vmconsole.backends.sim.engine import Sim


@dataclass(frozen=True, slots=True)
class ResourceAffinity:
    """`resource-affinity: NAME` with `resources` and `affinity positive|negative`."""

    name: str
    resources: tuple[str, ...]  # guest ids: qemu/100, lxc/200
    positive: bool  # together (positive) or apart (negative)


def compiled(rules: list[ResourceAffinity]) -> list[ResourceAffinity]:
    """The rules as the CRM applies them (Rules/ResourceAffinity.pm's transforms):
    positive rules sharing a resource merge into one (`_merged-A-B`), and a negative
    rule with one member of a positive rule holds for all its members
    (`_implicit-negative-...`): if A and B stay together and A apart from C, B too stays
    apart from C."""
    groups: list[tuple[list[str], set[str]]] = []  # (rule names, resources)
    for rule in (r for r in rules if r.positive):
        joined = [g for g in groups if g[1] & set(rule.resources)]
        names = [n for g in joined for n in g[0]] + [rule.name]
        resources = set(rule.resources).union(*(g[1] for g in joined))
        groups = [g for g in groups if g not in joined] + [(names, resources)]
    out = [ResourceAffinity(names[0] if len(names) == 1 else "_merged-" + "-".join(names),
                            tuple(sorted(resources)), True) for names, resources in groups]
    negative = [r for r in rules if not r.positive]
    out += negative
    for names, resources in groups:
        separated: dict[str, set[str]] = {}  # a resource -> the members kept apart from it
        for rule in negative:
            for member in resources & set(rule.resources):
                for other in rule.resources:
                    if other != member:
                        separated.setdefault(other, set()).add(member)
        for other, members in sorted(separated.items()):
            out += [ResourceAffinity(f"_implicit-negative-{names[0]}-{sid}-{other}",
                                     (sid, other), False)
                    for sid in sorted(resources - members)]
    return out


def sid(guest: SimGuest) -> str:
    """The HA resource id Proxmox uses: vm:100, ct:200."""
    return f"{'vm' if guest.kind is GuestKind.VM else 'ct'}:{guest.vmid}"


def _used_nodes(sim: Sim, guest_id: str) -> tuple[str | None, str | None]:
    """Usage.pm's get_used_service_nodes: the node a service is placed on, and the node
    it is moving to while in `migrate` or `relocate` (in `request_start_balance` only
    that one: it runs nowhere yet)."""
    other = sim.guests.get(guest_id)
    if other is None or other.ha is None:
        return None, None
    if other.ha.state is HAState.REQUEST_START_BALANCE:
        return None, other.ha.target
    if other.ha.state not in ACTIVE_STATES:
        return None, None
    moving = other.ha.state in MOVING_STATES
    return other.node, other.ha.target if moving else None


def affinity(sim: Sim, guest: SimGuest) -> tuple[dict[str, str], dict[str, str]]:
    """Manager.pm's get_resource_affinity: node -> rule name for the nodes where the
    guest's positive partners run or are going (together: only where they go, so a
    partner already moving is followed, not pulled back), and where its negative ones
    run or are going (apart: both)."""
    together: dict[str, str] = {}
    apart: dict[str, str] = {}
    for rule in compiled(sim.affinity_rules):
        if guest.id not in rule.resources:
            continue
        for other in rule.resources:
            if other == guest.id:
                continue
            current, target = _used_nodes(sim, other)
            if rule.positive and (node := target or current) is not None:
                together[node] = rule.name
            elif not rule.positive:
                apart.update({n: rule.name for n in (current, target) if n is not None})
    return together, apart


def partners(sim: Sim, guest: SimGuest) -> tuple[list[SimGuest], list[SimGuest]]:
    """The HA services (not ignored) sharing a positive rule with the guest, and those
    sharing a negative one (Manager.pm's get_affinitive_resources)."""
    together: list[SimGuest] = []
    apart: list[SimGuest] = []
    for rule in compiled(sim.affinity_rules):
        if guest.id not in rule.resources:
            continue
        for other in rule.resources:
            partner = sim.guests.get(other)
            if (other != guest.id and partner is not None and partner.ha is not None
                    and partner.ha.state is not HAState.IGNORED):
                (together if rule.positive else apart).append(partner)
    return together, apart


def validate(sim: Sim, rule: ResourceAffinity) -> dict[str, str]:
    """Problems with a rule, by field (empty: fine)."""
    problems = {}
    unknown = [r for r in rule.resources if r not in sim.guests]
    if unknown:
        problems["resources"] = f"no guest {', '.join(unknown)}"
    elif len(set(rule.resources)) < 2:
        problems["resources"] = "a resource-affinity rule needs two resources or more"
    if not rule.name or not rule.name.replace("-", "").replace("_", "").isalnum():
        problems["name"] = "letters, digits, - and _ only"
    return problems
