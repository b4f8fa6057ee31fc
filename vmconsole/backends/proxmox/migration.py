"""Where a guest may migrate, from PVE's own precondition check.

`GET /nodes/{node}/qemu/{vmid}/migrate` answers `allowed_nodes`, `not_allowed_nodes`
(per node: unavailable storages, missing mapped resources, blocking HA rules),
`local_disks` and `local_resources`; the LXC one answers `allowed-nodes` and
`not-allowed-nodes`. A node missing from the answer is offline or not a member.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vmconsole.backends.base import MigrationTarget
from vmconsole.backends.proxmox.answers import LIST, OBJECT, OBJECTS, Record
from vmconsole.model import GuestKind

# What a refusing node's entry holds, and the precheck's answer (`answers.read`), the
# VM's keys with "_" and the container's with "-".
_REFUSAL = Record({"unavailable_storages": LIST, "unavailable-resources": LIST,
                   "blocking-ha-resources": OBJECTS})


def _refusals(value: Any) -> bool:
    return OBJECT(value) and all(_REFUSAL.problem(detail) is None
                                 for detail in value.values() if OBJECT(detail))


PRECONDITIONS = Record({"allowed_nodes": LIST, "allowed-nodes": LIST,
                        "not_allowed_nodes": _refusals, "not-allowed-nodes": _refusals,
                        "local_disks": OBJECTS, "local_resources": LIST})


def migration_targets(kind: GuestKind, answer: Mapping[str, Any], current: str,
                      online: Mapping[str, bool]) -> list[MigrationTarget]:
    """A target per cluster node: whether the guest may go there, and if not, why.

    `online` maps every member node to whether corosync sees it."""
    sep = "_" if kind is GuestKind.VM else "-"
    allowed = answer.get(f"allowed{sep}nodes")
    refused: Mapping[str, Any] = answer.get(f"not{sep}allowed{sep}nodes") or {}
    disks = tuple(str(d.get("volid")) for d in answer.get("local_disks") or []
                  if not d.get("is_unused"))
    resources = [str(r) for r in answer.get("local_resources") or []]
    running = bool(answer.get("running"))
    out = []
    for node in sorted(online):
        reason = ""
        if node == current:
            reason = "the guest is on this node"
        elif not online[node]:
            reason = "node offline"
        elif node in refused:
            reason = _refusal(refused[node])
        elif resources and running:
            reason = f"local resources cannot move live: {', '.join(resources)}"
        elif allowed is not None and node not in allowed:
            reason = "not allowed by the cluster"
        out.append(MigrationTarget(node=node, allowed=not reason, reason=reason,
                                   local_disks=() if reason else disks))
    return out


def _refusal(detail: Any) -> str:
    if not isinstance(detail, Mapping):
        return "not allowed by the cluster"
    reasons = []
    if storages := detail.get("unavailable_storages"):
        reasons.append(f"storage not available there: {', '.join(map(str, storages))}")
    if mapped := detail.get("unavailable-resources"):
        reasons.append(f"mapped resources missing there: {', '.join(map(str, mapped))}")
    for block in detail.get("blocking-ha-resources") or []:
        reasons.append(f"HA {block.get('cause', 'rule')} of {block.get('sid', '?')}")
    return "; ".join(reasons) or "not allowed by the cluster"
