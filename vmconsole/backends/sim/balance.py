"""Load balancing of HA services: Proxmox VE's CRS (cluster resource scheduler) and
what VMware's DRS teaches, in one model.

A node's load is, by the scheduler's mode (datacenter.cfg `crs: ha=...`):
- basic: its number of HA services (relative to the busiest node);
- static and dynamic: the mean of its CPU and memory fractions
  (proxmox-resource-scheduling's NodeStats::load), from the configured vCPUs and
  memory of the guests on it (static) or what they use now (dynamic).
The cluster's imbalance is the coefficient of variation of the nodes' loads
(`vmconsole.balance.planner.node_imbalance`, the measure of every rebalance plan). A
recommendation (`plan`) moves one running HA service (the CRS moves nothing else) to the
node TOPSIS scores best among those its rules allow; its gain is the imbalance it
removes. A move that a rule forbids (group, strict node affinity, keep together /
apart) is not recommended: the plan names the best forbidden move and the rule in its
way.

Automatic rebalancing (`crm_round`, PVE 9.2's auto-rebalance, Manager.pm's
load_balance): in the static and dynamic modes, when the imbalance of the CRM's own
usage view (`ha_usage`, Usage.pm's) has stayed above the threshold for `hold` rounds,
the CRM migrates the bundle of started services (a service with its keep-together
partners) whose move leaves the lowest imbalance (`bruteforce`) or the best TOPSIS
score of the cluster after it (`topsis`), if that lowers the imbalance by at least
`margin` of itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vmconsole.backends.base import InvalidInput
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim import ha_rules, ha_usage
from vmconsole.backends.sim.state import ACTIVE_STATES, MOVING_STATES, SimGuest
from vmconsole.balance.topsis import score
from vmconsole.balance.usage import MODES as PLANNER_MODES
from vmconsole.balance.usage import Usage
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
    from vmconsole.balance import planner
    from vmconsole.balance.planner import Move

# The planner is imported by the functions that plan: the first screen needs only the
# CRS settings (issue 12).

MODES = ("basic", *PLANNER_MODES)
METHODS = ("bruteforce", "topsis")  # datacenter.cfg's ha-auto-rebalance-method
MAX_THRESHOLD = 10.0  # a coefficient of variation of n loads is at most sqrt(n - 1)


@dataclass(slots=True)
class CRSSettings:
    """datacenter.cfg's `crs` with Manager.pm's defaults (update_crs_scheduler_mode)."""

    mode: str = "basic"
    auto_rebalance: bool = False
    threshold: float = 0.3  # imbalance (`node_imbalance`) above which the hold counts
    hold: int = 3  # CRM rounds the imbalance must last (ha-auto-rebalance-hold-duration)
    margin: float = 0.1  # least relative lowering of the imbalance worth a migration
    over_since: int = 0  # rounds the imbalance has been above the threshold
    method: str = "bruteforce"  # how the best move is found (METHODS)
    # datacenter.cfg's ha-rebalance-on-start: a service asked to start goes first to
    # the node the scheduler scores best (Manager.pm's next_state_request_start)
    rebalance_on_start: bool = False


def describe(move: Move, sim_guests: dict[str, SimGuest]) -> str:
    """One recommendation for people: "201 (proxy1) pve2 -> pve3: imbalance -0.21",
    or the rule that forbids it."""
    guest = sim_guests[move.guest]
    what = f"{guest.vmid} ({guest.name}) {move.source} -> {move.target}"
    if move.blocked_by:
        return f"{what} would lower the imbalance by {move.gain:.2f} but {move.blocked_by}"
    return f"{what}: imbalance -{move.gain:.2f}"


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
    from vmconsole.balance import planner  # loaded when used
    refused = _refusals(manager)
    pinned = {g.id: "not a started HA service: the CRS moves HA services only"
              for g in manager.sim.guests.values() if g.id not in refused}
    return planner.Rules(refused, pinned)


def placement_rules(manager: HAManager) -> planner.Rules:
    """For a console's plan of the whole cluster: HA services are left to the CRS
    while its auto-rebalance is on; otherwise each may go where its rules allow."""
    from vmconsole.balance import planner  # loaded when used
    crs = manager.crs
    return planner.Rules(_refusals(manager), crs=crs.mode if crs.auto_rebalance else None)


def loads(manager: HAManager, moved: dict[str, str] | None = None) -> dict[str, float]:
    """Percent load of every node the CRM may place on, with `moved` (guest -> node)
    applied (the basic mode's what-if)."""
    from vmconsole.balance import planner  # loaded when used
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
    from vmconsole.balance import planner  # loaded when used
    mode = manager.crs.mode
    current = loads(manager)
    if mode == "basic":
        each = [f"{n} {v:.0f}%" for n, v in current.items()]
    else:
        each = [f"{n} {u.load:.0f}% (CPU {u.cpu_percent:.0f}%, memory {u.mem_percent:.0f}%)"
                for n, u in planner.usage(inventory(manager), mode).items()]
    return f"{mode} scheduler: imbalance {imbalance(current):.2f} ({', '.join(each)})"


def imbalance(values: Mapping[str, float]) -> float:
    """The planner's measure (`planner.node_imbalance`) of the nodes' loads."""
    from vmconsole.balance import planner  # loaded when used
    return planner.node_imbalance(list(values.values()))


def plan(manager: HAManager, limit: int = 5) -> list[Move]:
    """Recommendations, best first, each on top of the ones before it, then the
    forbidden moves that would have been better (each with its rule)."""
    from vmconsole.balance import planner  # loaded when used
    if manager.crs.mode != "basic":
        result = planner.plan(inventory(manager), rules(manager), manager.crs.mode, limit)
        return [*result.moves, *result.blocked]
    return _basic_plan(manager, limit)


def _basic_plan(manager: HAManager, limit: int) -> list[Move]:
    """The basic scheduler's plan: HA services counted, from the busiest node."""
    from vmconsole.balance.planner import Move  # loaded when used
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
                              f"-{move.gain:.2f} ({manager.crs.mode} scheduler)")
        done.append(move)
    return done


def crm_round(manager: HAManager) -> None:
    """Manager.pm's load_balance, once per CRM round: in the static and dynamic modes,
    with no service moving, count the rounds the imbalance stays above the threshold;
    after `hold` of them, migrate the best bundle (see the module's docstring) if it
    lowers the imbalance by at least `margin` of itself."""
    from vmconsole.balance import planner  # loaded when used
    crs = manager.crs
    if not crs.auto_rebalance or crs.mode == "basic" or any(
            g.ha is not None and g.ha.state in MOVING_STATES for g in manager.sim.guests.values()):
        return
    usage = ha_usage.node_usage(manager.sim, manager.services.online(), crs.mode)
    now = planner.imbalance(usage)
    if now <= crs.threshold:
        crs.over_since = 0
        return
    crs.over_since += 1
    if crs.over_since < crs.hold:
        return
    crs.over_since = 0
    best = best_bundle_move(manager, usage)
    if best is None:
        return
    bundle, target, after = best
    if (now - after) / now < crs.margin:
        return
    leader = bundle[0]
    for guest in bundle:
        manager.services.move(guest, target, (
            f"auto rebalance ({crs.mode} scheduler, {crs.method}): imbalance expected "
            f"from {now:.2f} to {after:.2f}" if guest is leader else
            f"auto rebalance of {ha_rules.sid(leader)}, in positive affinity with it"))


Bundle = list[SimGuest]  # started services kept together, the leader (lowest sid) first


def bundles(manager: HAManager) -> list[tuple[Bundle, list[str]]]:
    """Manager.pm's get_resource_migration_candidates: each bundle of started services
    on one node (a service and its started keep-together partners, none of them moving),
    led by its lowest sid, with the nodes it may go to: its leader's top-priority node
    affinity among the online nodes, minus the nodes of the leader's keep-apart
    partners and its own node."""
    sim = manager.sim
    online = manager.services.online()
    out: dict[str, tuple[Bundle, list[str]]] = {}
    for guest in sorted(sim.guests.values(), key=ha_rules.sid):
        if guest.ha is None or guest.ha.state is not HAState.STARTED:
            continue
        together, _ = ha_rules.partners(sim, guest)
        if any(p.ha is not None and p.ha.state in MOVING_STATES for p in together):
            continue
        members = sorted([guest, *(p for p in together if p.ha is not None
                                   and p.ha.state is HAState.STARTED)], key=ha_rules.sid)
        if len({m.node for m in members}) > 1 or ha_rules.sid(members[0]) in out:
            continue
        leader = members[0]
        priorities, restricted, _ = manager.services.preferences(leader)
        allowed = [n for n in online if n in priorities]
        if allowed:
            top = max(priorities[n] for n in allowed)
            targets = [n for n in allowed if priorities[n] == top]
        else:
            targets = [] if restricted and priorities else list(online)
        _, apart = ha_rules.affinity(sim, leader)
        targets = sorted(n for n in targets if n not in apart and n != leader.node)
        if targets:
            out[ha_rules.sid(leader)] = (members, targets)
    return list(out.values())


def best_bundle_move(manager: HAManager, usage: Mapping[str, Usage]
                     ) -> tuple[Bundle, str, float] | None:
    """The migration auto-rebalance would make, with the imbalance after it, or None
    without a candidate. `bruteforce` (proxmox-resource-scheduling's
    score_best_balancing_migration_candidates): the lowest imbalance after the move,
    ties by (sid, source, target); `topsis`: the best TOPSIS closeness of the cluster
    after the move (`planner.topsis_row`). The bundle's usage leaves its node and is
    added to the target's."""
    from vmconsole.balance import planner  # loaded when used
    mode = manager.crs.mode
    moves: list[tuple[Bundle, str, dict[str, Usage]]] = []
    for members, targets in bundles(manager):
        cpu = mem = 0.0
        for guest in members:
            c, m = ha_usage.service_usage(manager.sim, guest, mode)
            cpu, mem = cpu + c, mem + m
        source = members[0].node
        for target in targets:
            after = dict(usage)
            if source in after:
                u = after[source]
                after[source] = Usage(max(0.0, u.cpu - cpu), u.maxcpu, max(0.0, u.mem - mem),
                                      u.maxmem)
            after[target] = after[target].plus(cpu, mem)
            moves.append((members, target, after))
    if not moves:
        return None
    if manager.crs.method == "topsis":
        closeness = score([planner.topsis_row(after.values()) for *_, after in moves])
        index = max(range(len(moves)), key=lambda i: (closeness[i], -i))
    else:
        index = min(range(len(moves)), key=lambda i: (
            round(planner.imbalance(moves[i][2]), 15), ha_rules.sid(moves[i][0][0]),
            moves[i][1]))
    members, target, after = moves[index]
    return members, target, planner.imbalance(after)


def configure(manager: HAManager, mode: str, auto_rebalance: bool, threshold: float,
              hold: int, margin: float, method: str | None = None) -> None:
    """datacenter.cfg's `crs`: the scheduler, auto-rebalance, its threshold (an
    imbalance, `planner.node_imbalance`: above 0, at most MAX_THRESHOLD), hold (1 to
    100 CRM rounds), margin (a fraction 0..1 of the imbalance) and method (METHODS;
    None: as it was). Raises InvalidInput naming each bad field."""
    from vmconsole.backends.ha_config import HOLD_ROUNDS_MAX, HOLD_ROUNDS_MIN  # loaded when used
    method = method or manager.crs.method
    problems = {}
    if mode not in MODES:
        problems["mode"] = f"one of {', '.join(MODES)}"
    if not 0 < threshold <= MAX_THRESHOLD:
        problems["threshold"] = f"above 0, at most {MAX_THRESHOLD:g} (0.3 by default)"
    if not HOLD_ROUNDS_MIN <= hold <= HOLD_ROUNDS_MAX:
        problems["hold"] = f"{HOLD_ROUNDS_MIN} to {HOLD_ROUNDS_MAX} rounds"
    if not 0 <= margin <= 1:
        problems["margin"] = "0 to 1 (0.1: 10 % of the imbalance)"
    if method not in METHODS:
        problems["method"] = f"one of {', '.join(METHODS)}"
    if problems:
        raise InvalidInput("CRS settings refused: " + "; ".join(
            f"{k}: {v}" for k, v in problems.items()), problems)
    manager.crs = CRSSettings(mode, auto_rebalance, threshold, hold, margin, method=method,
                              rebalance_on_start=manager.crs.rebalance_on_start)
    manager.sim.narrate(EventKind.HA_REQUEST, f"CRS: {mode} scheduler, auto-rebalance "
                        f"{'on' if auto_rebalance else 'off'} (threshold {threshold:g}, "
                        f"hold {hold} rounds, margin {margin:g}, {method})")
