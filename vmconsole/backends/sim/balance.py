"""Load balancing of HA services: Proxmox VE's CRS (cluster resource scheduler) and
what VMware's DRS teaches, in one model.

A node's load is, by the scheduler's mode (datacenter.cfg `crs: ha=...`):
- basic: its number of HA services (relative to the busiest node);
- static and dynamic: Proxmox's TOPSIS scoring over CPU and memory, from the planner
  every cluster's rebalance plan uses (`vmconsole.balance`): configured vCPUs and
  memory of the running guests (static) or what they use now (dynamic), weighted as
  proxmox-resource-scheduling weighs them.
The cluster's imbalance is the standard deviation of the nodes' loads, in percent
points, as the planner measures it. A recommendation moves one running HA service (the
CRS moves nothing else) to the node TOPSIS scores best among those its rules allow, the
one move that lowers the imbalance most; its gain is the imbalance it removes. A move that a rule
forbids (group, strict node affinity, keep together / apart) is not recommended: the
plan names the best forbidden move and the rule in its way.

Automatic rebalancing (PVE 9.2's auto-rebalance): when the imbalance has stayed above
the threshold for `hold` CRM rounds, the CRM applies the best recommendation whose gain
is at least the margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from vmconsole.backends.base import InvalidInput
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim.ha_services import ACTIVE_STATES
from vmconsole.backends.sim.state import SimGuest
from vmconsole.balance import planner
from vmconsole.balance.planner import Move
from vmconsole.model import (
    Guest,
    GuestStatus,
    HAState,
    Inventory,
    Metrics,
    Node,
    NodeHAState,
    NodeStatus,
)

if TYPE_CHECKING:
    from vmconsole.backends.sim.ha import HAManager

MODES = ("basic", *planner.MODES)


@dataclass(slots=True)
class CRSSettings:
    mode: str = "basic"
    auto_rebalance: bool = False
    threshold: float = 20.0  # percent points of imbalance before acting
    hold: int = 3  # CRM rounds the imbalance must last
    margin: float = 5.0  # least gain (percent points) worth a migration
    over_since: int = 0  # rounds the imbalance has been above the threshold
    # datacenter.cfg's ha-rebalance-on-start: a service asked to start goes first to
    # the node the scheduler scores best (Manager.pm's next_state_request_start)
    rebalance_on_start: bool = False


def describe(move: Move, sim_guests: dict[str, SimGuest]) -> str:
    """One recommendation for people: "201 (proxy1) pve2 -> pve3: imbalance -9.4
    points", or the rule that forbids it."""
    guest = sim_guests[move.guest]
    what = f"{guest.vmid} ({guest.name}) {move.source} -> {move.target}"
    if move.blocked_by:
        return f"{what} would gain {move.gain:.1f} points but {move.blocked_by}"
    return f"{what}: imbalance -{move.gain:.1f} points"


def _usable(manager: HAManager) -> list[str]:
    return [n.name for n in manager.sim.nodes.values()
            if n.alive and manager.quorate.get(n.name, False) and not n.maintenance]


def inventory(manager: HAManager) -> Inventory:
    """The cluster as the CRM sees it, for the planner: the nodes it may place on are
    online, the others offline or in maintenance; running guests with the load model's
    figures now (the dynamic mode's measure)."""
    sim = manager.sim
    usable = set(_usable(manager))
    nodes = tuple(Node(n.name, NodeStatus.ONLINE if n.name in usable else NodeStatus.OFFLINE,
                       n.maxcpu, n.maxmem, unreported=("cpu", "mem"),
                       ha_state=NodeHAState.MAINTENANCE if n.maintenance else None)
                  for n in sim.nodes.values())
    guests = []
    for g in sim.guests.values():
        inst = sim.running_on_own_node(g)
        running = inst is not None and not inst.incoming
        metrics = Metrics()
        if running and inst is not None:
            uptime = sim.now - inst.since
            cpu, mem, *_ = sim.load.figures(g.load_index, sim.now, g.maxmem, uptime,
                                            g.boot_seconds)
            metrics = Metrics(cpu, mem)
        guests.append(Guest(g.id, g.name, g.kind, g.node,
                            GuestStatus.RUNNING if running else GuestStatus.STOPPED,
                            g.vmid, g.template, g.maxcpu, g.maxmem, metrics=metrics,
                            lock=g.lock))
    return Inventory(sim.cluster, nodes, tuple(guests), taken_at=sim.now)


def _refusals(manager: HAManager) -> dict[str, dict[str, str]]:
    """Started HA service -> node -> why Manager.pm's select_service_node would not
    place it there (group, node and resource affinity, memory)."""
    return {guest.id: {c.node: c.reason for c in manager.services.candidates(guest)
                       if c.score is None}
            for guest in manager.sim.guests.values()
            if guest.ha is not None and guest.ha.state is HAState.STARTED}


def rules(manager: HAManager) -> planner.Rules:
    """What the CRS may do: move started HA services only, each where its rules allow."""
    refused = _refusals(manager)
    pinned = {g.id: "not a started HA service: the CRS moves HA services only"
              for g in manager.sim.guests.values() if g.id not in refused}
    return planner.Rules(refused, pinned)


def placement_rules(manager: HAManager) -> planner.Rules:
    """For a console's plan of the whole cluster: HA services are left to the CRS
    while its auto-rebalance is on; otherwise each may go where its rules allow."""
    crs = manager.crs
    return planner.Rules(_refusals(manager), crs=crs.mode if crs.auto_rebalance else None)


def loads(manager: HAManager, moved: dict[str, str] | None = None) -> dict[str, float]:
    """Percent load of every node the CRM may place on, with `moved` (guest -> node)
    applied (the basic mode's what-if)."""
    sim, crs = manager.sim, manager.crs
    if crs.mode != "basic":
        return {name: u.load for name, u in planner.usage(inventory(manager), crs.mode).items()}
    moved = moved or {}
    used = dict.fromkeys(_usable(manager), 0.0)
    for guest in sim.guests.values():
        node = moved.get(guest.id, guest.node)
        if node in used and guest.ha is not None and guest.ha.state in ACTIVE_STATES:
            used[node] += 1
    top = max(used.values(), default=0) or 1
    return {name: 100 * v / top for name, v in used.items()}


def summary(manager: HAManager) -> str:
    """The plan's head line: the scheduler, the imbalance and each node's load (with its
    CPU and memory percent in the static and dynamic modes)."""
    mode = manager.crs.mode
    current = loads(manager)
    if mode == "basic":
        each = [f"{n} {v:.0f}%" for n, v in current.items()]
    else:
        each = [f"{n} {u.load:.0f}% (CPU {u.cpu_percent:.0f}%, memory {u.mem_percent:.0f}%)"
                for n, u in planner.usage(inventory(manager), mode).items()]
    return f"{mode} scheduler: imbalance {imbalance(current):.1f} points ({', '.join(each)})"


def imbalance(values: dict[str, float]) -> float:
    """The planner's measure: the standard deviation of the nodes' loads."""
    return planner.deviation(list(values.values()))


def plan(manager: HAManager, limit: int = 5) -> list[Move]:
    """Recommendations, best first, each on top of the ones before it, then the
    forbidden moves that would have been better (each with its rule)."""
    if manager.crs.mode != "basic":
        result = planner.plan(inventory(manager), rules(manager), manager.crs.mode, limit)
        return [*result.moves, *result.blocked]
    return _basic_plan(manager, limit)


def _basic_plan(manager: HAManager, limit: int) -> list[Move]:
    """The basic scheduler's plan: HA services counted, from the busiest node."""
    sim = manager.sim
    moved: dict[str, str] = {}
    out: list[Move] = []
    for _ in range(limit):
        current = loads(manager, moved)
        before = imbalance(current)
        best: Move | None = None
        best_blocked: Move | None = None
        busiest = max(current, key=lambda name: current[name], default=None)
        for guest in sim.guests.values():
            node = moved.get(guest.id, guest.node)
            if (node != busiest or guest.ha is None or guest.ha.state is not HAState.STARTED
                    or guest.id in moved or sim.running_on_own_node(guest) is None):
                continue
            candidates = {c.node: c for c in manager.services.candidates(guest)}
            for target in current:
                if target == node:
                    continue
                gain = before - imbalance(loads(manager, {**moved, guest.id: target}))
                if gain <= 0:
                    continue
                c = candidates.get(target)
                if c is not None and c.score is None:
                    if best_blocked is None or gain > best_blocked.gain:
                        best_blocked = Move(guest.id, guest.name, node, target, gain,
                                            blocked_by=c.reason)
                elif best is None or gain > best.gain:
                    best = Move(guest.id, guest.name, node, target, gain)
        if best_blocked is not None and (best is None or best_blocked.gain > best.gain):
            out.append(best_blocked)
        if best is None:
            break
        out.append(best)
        moved[best.guest] = best.target
    return out


def apply(manager: HAManager, count: int = 1) -> list[Move]:
    """Migrate the first `count` allowed recommendations through the HA manager."""
    done = []
    for move in [m for m in plan(manager) if not m.blocked_by][:count]:
        guest = manager.sim.guests[move.guest]
        manager.services.move(guest, move.target, f"load balancing: imbalance "
                              f"-{move.gain:.1f} points ({manager.crs.mode} scheduler)")
        done.append(move)
    return done


def crm_round(manager: HAManager) -> None:
    """Auto-rebalance: act once the imbalance has held above the threshold."""
    crs = manager.crs
    if not crs.auto_rebalance:
        return
    if imbalance(loads(manager)) <= crs.threshold:
        crs.over_since = 0
        return
    crs.over_since += 1
    if crs.over_since < crs.hold:
        return
    moves = [m for m in plan(manager, limit=1) if not m.blocked_by]
    if moves and moves[0].gain >= crs.margin and not any(
            g.ha is not None and g.ha.state in (HAState.MIGRATE, HAState.RELOCATE)
            for g in manager.sim.guests.values()):
        apply(manager, 1)
        crs.over_since = 0


def configure(manager: HAManager, mode: str, auto_rebalance: bool, threshold: float,
              hold: int, margin: float) -> None:
    """Raises InvalidInput naming each bad field."""
    problems = {}
    if mode not in MODES:
        problems["mode"] = f"one of {', '.join(MODES)}"
    if not 0 < threshold <= 100:
        problems["threshold"] = "1 to 100 percent points"
    if not 1 <= hold <= 100:
        problems["hold"] = "1 to 100 rounds"
    if not 0 <= margin <= 100:
        problems["margin"] = "0 to 100 percent points"
    if problems:
        raise InvalidInput("CRS settings refused: " + "; ".join(
            f"{k}: {v}" for k, v in problems.items()), problems)
    manager.crs = CRSSettings(mode, auto_rebalance, threshold, hold, margin,
                              rebalance_on_start=manager.crs.rebalance_on_start)
    manager.sim.narrate(EventKind.HA_REQUEST, f"CRS: {mode} scheduler, auto-rebalance "
                        f"{'on' if auto_rebalance else 'off'} (threshold {threshold:.0f}, "
                        f"hold {hold} rounds, margin {margin:.0f})")
