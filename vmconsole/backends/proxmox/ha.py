"""HA resources on PVE: `/cluster/ha/resources`, and where a service may run.

Up to PVE 8 a resource names an HA group. PVE 9 migrates groups to node-affinity rules
under `/cluster/ha/rules` and drops the `group` property; there a "group" the user picks
is a node-affinity rule that the resource joins, and a list of nodes becomes a rule of
the console's own, `vmconsole-vm-100`.
"""

from __future__ import annotations

from typing import Any

from vmconsole.backends.base import NotFound, NotSupported
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.proxmox.answers import TEXT, Record, Records, read
from vmconsole.backends.proxmox.tasks import Caller

# The answers read here and by `placement` (`answers.read`): the HA rules (PVE 9), one
# rule, the HA groups (PVE < 9); `nodes` and `resources` are property strings.
RULES = Records({"rule": TEXT, "type": TEXT, "resources": TEXT, "nodes": TEXT,
                 "affinity": TEXT, "disable": TEXT})
RULE = Record({"resources": TEXT})
GROUPS = Records({"group": TEXT, "nodes": TEXT})


def rule_name(sid: str) -> str:
    return "vmconsole-" + sid.replace(":", "-")


def groups(call: Caller, rules: bool) -> list[str]:
    """HA groups (PVE < 9) or node-affinity rules (PVE 9) a resource can be placed by."""
    if rules:
        listing = read(call, "/cluster/ha/rules", RULES, type="node-affinity")
        return sorted(str(r["rule"]) for r in listing
                      if r.get("rule") and r.get("type", "node-affinity") == "node-affinity")
    return sorted(str(g["group"]) for g in read(call, "/cluster/ha/groups", GROUPS)
                  if g.get("group"))


def apply(call: Caller, sid: str, settings: HASettings, rules: bool, exists: bool) -> list[str]:
    """Add or update the resource; returns the log lines of what was done."""
    if settings.nodes and not settings.group and not rules:
        raise NotSupported("placing an HA resource on chosen nodes needs PVE 9 (node-affinity "
                           "rules); on this cluster choose an HA group")
    params: dict[str, Any] = {"state": settings.request.value,
                              "max_restart": settings.max_restart,
                              "max_relocate": settings.max_relocate}
    if settings.group and not rules:
        params["group"] = settings.group
    done = []
    if exists:
        if not settings.group and not rules:
            params["delete"] = "group"
        call("PUT", f"/cluster/ha/resources/{sid}", **params)
        done.append(f"updated HA resource {sid}: " + _describe(params))
    else:
        call("POST", "/cluster/ha/resources", sid=sid, **params)
        done.append(f"added HA resource {sid}: " + _describe(params))
    if rules:
        done += _place_by_rule(call, sid, settings)
    return done


def _place_by_rule(call: Caller, sid: str, settings: HASettings) -> list[str]:
    if settings.group:
        rule = read(call, f"/cluster/ha/rules/{settings.group}", RULE)
        members = [r for r in str(rule.get("resources") or "").split(",") if r]
        if sid in members:
            return []
        call("PUT", f"/cluster/ha/rules/{settings.group}", type="node-affinity",
             resources=",".join([*members, sid]))
        return [f"{sid} joined node-affinity rule {settings.group}"]
    own = rule_name(sid)
    if not settings.nodes:
        try:
            call("DELETE", f"/cluster/ha/rules/{own}")
        except NotFound:
            return []
        return [f"removed node-affinity rule {own}"]
    nodes = ",".join(settings.nodes)
    try:
        call("PUT", f"/cluster/ha/rules/{own}", type="node-affinity", nodes=nodes,
             resources=sid)
    except NotFound:
        call("POST", "/cluster/ha/rules", rule=own, type="node-affinity", nodes=nodes,
             resources=sid, strict=False)
        return [f"created node-affinity rule {own}: {sid} on {nodes}"]
    return [f"node-affinity rule {own}: {sid} on {nodes}"]


def _describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items() if k != "delete")
