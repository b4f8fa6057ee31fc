"""The `manager_status` a pve-ha-manager test directory starts from: the state the last
CRM master wrote (Manager.pm's flush_master_status; Sim/Hardware.pm copies it into the
harness's status directory), which the next master reads back (Manager.pm's new: the
node states and the service states, nothing else of the old master's memory).

The format: JSON with `node_status` (node -> online, unknown, fence, maintenance,
gone), `service_status` (sid -> `state`, `node`, and for `migrate` / `relocate` its
`target`; `uid` and `running` are the LRM's business), `master_node` and `timestamp`
(the old master's, which the next one does not use) and the long-gone
`relocate_tried_nodes` (read only when empty).

Played in the simulator, the cluster starts in those states: each node with its HA
state, each service in its state on its node, running only in a state whose LRM runs
it (started, request_stop, freeze, migrate, relocate); no agent lock is held at the start (the
harness starts every LRM waiting for its lock), so a node left in `fence` is fenced on
the new master's first round; a service in `migrate` or `relocate` is moved by its
node's LRM on its next round, as the old master had asked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vmconsole.backends.sim.timing import LOCK_LEASE
from vmconsole.model import HAState, NodeHAState
from vmconsole.text import visible

if TYPE_CHECKING:
    from vmconsole.backends.sim.engine import Sim
    from vmconsole.backends.sim.ha import HAManager
    from vmconsole.backends.sim.scenarios import Step

_KEYS = {"master_node", "node_status", "service_status", "timestamp", "relocate_tried_nodes"}
# Manager.pm's $valid_service_states
_STATES = {"stopped", "request_stop", "request_start", "request_start_balance", "started",
           "fence", "recovery", "migrate", "relocate", "freeze", "error"}
_MOVING = ("migrate", "relocate")
_RUNNING = ("started", "request_stop", "freeze", *_MOVING)  # a service its LRM runs


def as_written(value: object) -> str:
    """A value of a JSON file as its author wrote it, made visible: a string in quotes
    ('node9'), anything else in JSON ("state": ["started"] is ["started"], not a
    Python list's repr)."""
    return visible(f"'{value}'" if isinstance(value, str)
                   else json.dumps(value, ensure_ascii=False))


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """One service as the old master left it: its CRM state, its node, and the node
    it is moving to (`migrate`, `relocate`)."""

    state: str
    node: str
    target: str | None = None


@dataclass(frozen=True, slots=True)
class ManagerStatus:
    """node -> HA node state, sid -> ServiceStatus."""

    nodes: dict[str, str]
    services: dict[str, ServiceStatus]


def parse(data: object, nodes: set[str], sids: set[str],
          problems: list[str]) -> ManagerStatus | None:
    """`manager_status` as a ManagerStatus; None for an empty one (nothing to start
    from). What the simulator cannot start from (an unknown key, node, service or
    state) is noted in `problems`."""
    if not data:
        return None
    if not isinstance(data, dict) or set(data) - _KEYS or data.get("relocate_tried_nodes"):
        problems.append("manager_status keys other than " + ", ".join(sorted(_KEYS - {
            "relocate_tried_nodes"})))
        return None
    node_status = data.get("node_status") or {}
    service_status = data.get("service_status") or {}
    if not isinstance(node_status, dict) or not isinstance(service_status, dict):
        problems.append("manager_status: node_status and service_status are objects")
        return None
    states = {s.value for s in NodeHAState}
    out_nodes: dict[str, str] = {}
    for node, state in node_status.items():
        if node not in nodes or not isinstance(state, str) or state not in states:
            problems.append(f"manager_status: node {as_written(node)} {as_written(state)}")
            continue
        out_nodes[node] = state
    services: dict[str, ServiceStatus] = {}
    for sid, entry in service_status.items():
        entry = entry if isinstance(entry, dict) else {}
        state, node, target = entry.get("state"), entry.get("node"), entry.get("target")
        # a list or an object where a name belongs is named, not looked up (unhashable)
        named = all(v is None or isinstance(v, str) for v in (state, node, target))
        if (not named or sid not in sids or state not in _STATES or node not in nodes
                or (state in _MOVING) != (target in nodes)):
            problems.append(f"manager_status: service {as_written(sid)} "
                            f"{as_written(state)} on {as_written(node)}")
            continue
        services[sid] = ServiceStatus(state, node, target if state in _MOVING else None)
    return ManagerStatus(out_nodes, services)


def apply(status: ManagerStatus, sim: Sim, guest_of: dict[str, str]) -> None:
    """Put the built cluster in the status's states (`guest_of`: sid -> guest id). A
    service's config goes to the node the status names; a moving one stays `started`
    until `start_step` hands it to its LRM."""
    for name, state in status.nodes.items():
        node = sim.nodes[name]
        node.ha_state = NodeHAState(state)
        # no LRM holds its agent lock when the harness starts
        node.lrm.lock_renewed = sim.now - LOCK_LEASE
    for sid, entry in status.services.items():
        guest = sim.guests[guest_of[sid]]
        if guest.ha is None:
            continue
        # it runs at the start only where the old master had it run: a service in
        # fence, recovery, error or stopped does not (nor did its node's LRM start it)
        if entry.state not in _RUNNING or entry.node != guest.node:
            sim.end_instance(guest.id, guest.node)
        guest.node = entry.node
        state = "started" if entry.state in _MOVING else entry.state
        guest.ha.state = HAState(state)


def start_step(status: ManagerStatus, guest_of: dict[str, str]) -> Step:
    """The scenario's first step: the node states again (an HA manager that found no
    master at its start wiped them: the cluster's nodes were all off), then each move
    the old master had ordered (a service in `migrate` or `relocate`) handed to its
    node's LRM (`Services.move`)."""
    moves = [(guest_of[sid], entry.target, entry.state == "relocate")
             for sid, entry in sorted(status.services.items()) if entry.target is not None]

    def step(sim: Sim, ha: HAManager) -> None:
        for name, state in status.nodes.items():
            sim.nodes[name].ha_state = NodeHAState(state)
        for gid, target, relocate in moves:
            guest = sim.guests[gid]
            if guest.ha is not None and guest.node != target:
                ha.services.move(guest, target, "ordered by the previous CRM master "
                                 "(manager_status)", relocate=relocate)
    return step
