"""A Proxmox cluster's placement rules for the rebalance planner (`vmconsole.balance`).

- datacenter.cfg's `crs` (`GET /cluster/options`): `ha=basic|static|dynamic` and, since
  PVE 9.2, `ha-auto-rebalance=1`: the CRS then balances HA resources itself, so a plan
  leaves them to it.
- Node affinity: PVE 9's `node-affinity` rules (`GET /cluster/ha/rules`: `nodes`
  "pve1:2,pve2", `resources` "vm:100,ct:200", `strict`), or up to PVE 8 the HA group a
  resource names (`GET /cluster/ha/groups`: `nodes`, `restricted`). The CRM runs a
  service on its highest-priority available nodes (pve-ha-manager Manager.pm,
  select_service_node), so a plan offers only those.
- Resource affinity: PVE 9's `resource-affinity` rules (`affinity positive|negative`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from vmconsole.backends.base import AuthError
from vmconsole.backends.proxmox.answers import TEXT, Record, read
from vmconsole.backends.proxmox.ha import GROUPS, RULES
from vmconsole.backends.proxmox.inventory import service_id
from vmconsole.backends.proxmox.tasks import Caller
from vmconsole.balance import AffinityRule, Rules
from vmconsole.model import Inventory

YES = ("1", "true", "yes", "on")
# GET /cluster/options, as far as it is read here.
OPTIONS = Record({"crs": TEXT})


def crs_options(value: object) -> dict[str, str]:
    """datacenter.cfg's `crs` property string: "ha=static,ha-auto-rebalance=1" ->
    {"ha": "static", "ha-auto-rebalance": "1"}; a bare first value is `ha`'s."""
    out: dict[str, str] = {}
    for part in str(value or "").split(","):
        key, sep, val = part.strip().partition("=")
        if key:
            out[key if sep else "ha"] = val if sep else key
    return out


def priorities(nodes: object) -> dict[str, int]:
    """"pve1:2,pve2" -> {"pve1": 2, "pve2": 0} (a node without one has priority 0)."""
    out: dict[str, int] = {}
    for item in str(nodes or "").replace(";", ",").split(","):
        name, _, prio = item.strip().partition(":")
        if name:
            out[name] = int(prio) if prio.strip().isdigit() else 0
    return out


def _refusals(label: str, prios: Mapping[str, int], nodes: Iterable[str]
              ) -> dict[str, str]:
    top = max(prios.values(), default=0)
    out = {}
    for node in nodes:
        if node not in prios:
            out[node] = f"{label}: {node} is not one of its nodes"
        elif prios[node] < top:
            out[node] = f"{label}: {node} has priority {prios[node]}, below {top}"
    return out


def placement_rules(call: Caller, inventory: Inventory, rules_api: bool) -> Rules:
    """The rules for `inventory`'s guests. Where the CRS settings may not be read, HA
    resources are left to the CRS, as if it rebalanced. Raises what `call` raises
    (BackendError) for the HA rules, `answers.not_pve`'s for an answer of another shape."""
    try:
        options = read(call, "/cluster/options", OPTIONS)
    except AuthError:  # Sys.Audit on /: whether the CRS rebalances is then unknown
        options = {"crs": "ha=unknown (/cluster/options not readable),ha-auto-rebalance=1"}
    crs = crs_options(options.get("crs"))
    auto = crs.get("ha-auto-rebalance", "").lower() in YES
    by_sid = {service_id(g.kind, g.vmid): g.id for g in inventory.guests if g.vmid is not None}
    nodes = [n.name for n in inventory.nodes]
    refused: dict[str, dict[str, str]] = {}
    affinity: list[AffinityRule] = []
    if rules_api:
        for rule in read(call, "/cluster/ha/rules", RULES):
            if str(rule.get("disable", "0")) in YES:
                continue
            name = str(rule.get("rule", "?"))
            guests = [by_sid[s] for s in str(rule.get("resources") or "").split(",")
                      if s in by_sid]
            if rule.get("type") == "node-affinity":
                why = _refusals(f"node-affinity rule {name}", priorities(rule.get("nodes")),
                                nodes)
                for guest in guests:
                    refused.setdefault(guest, {}).update(why)
            elif rule.get("type") == "resource-affinity":
                affinity.append(AffinityRule(name, frozenset(guests),
                                             rule.get("affinity") == "positive"))
    else:
        groups = {str(g.get("group")): g for g in read(call, "/cluster/ha/groups", GROUPS)}
        for member in inventory.guests:
            group_name = member.ha.group if member.ha is not None else None
            group = groups.get(group_name) if group_name else None
            if group is not None:
                refused[member.id] = _refusals(f"HA group {group_name}",
                                               priorities(group.get("nodes")), nodes)
    return Rules(refused, {}, tuple(affinity), crs.get("ha", "basic") if auto else None)
