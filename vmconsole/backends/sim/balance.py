"""Load balancing of HA services: Proxmox VE's CRS (cluster resource scheduler) and
what VMware's DRS teaches, in one model.

A node's load is, by the scheduler's mode (datacenter.cfg `crs: ha=...`):
- basic: its number of HA services (relative to the busiest node);
- static: the memory its guests are configured with, over the node's memory;
- dynamic: the memory its guests use now, over the node's memory.
The cluster's imbalance is the spread between the most and the least loaded node, in
percent points. A recommendation moves one running HA service from a busy node to the
node that lowers the imbalance most; its gain is the imbalance it removes. A move that a
rule forbids (group, strict node affinity, keep together / apart) is not recommended:
the plan names the best forbidden move and the rule in its way.

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
from vmconsole.model import HAState

if TYPE_CHECKING:
    from vmconsole.backends.sim.ha import HAManager

MODES = ("basic", "static", "dynamic")


@dataclass(slots=True)
class CRSSettings:
    mode: str = "basic"
    auto_rebalance: bool = False
    threshold: float = 20.0  # percent points of imbalance before acting
    hold: int = 3  # CRM rounds the imbalance must last
    margin: float = 5.0  # least gain (percent points) worth a migration
    over_since: int = 0  # rounds the imbalance has been above the threshold


@dataclass(frozen=True, slots=True)
class Move:
    guest: str
    source: str
    target: str
    gain: float  # percent points of imbalance removed
    blocked_by: str = ""  # the rule that forbids it ("" when allowed)

    def describe(self, sim_guests: dict[str, SimGuest]) -> str:
        guest = sim_guests[self.guest]
        what = f"{guest.vmid} ({guest.name}) {self.source} -> {self.target}"
        if self.blocked_by:
            return f"{what} would gain {self.gain:.1f} points but {self.blocked_by}"
        return f"{what}: imbalance -{self.gain:.1f} points"


def loads(manager: HAManager, moved: dict[str, str] | None = None) -> dict[str, float]:
    """Percent load of every online node, with `moved` (guest -> node) applied."""
    sim, crs = manager.sim, manager.crs
    moved = moved or {}
    nodes = [n for n in sim.nodes.values()
             if n.alive and manager.quorate.get(n.name, False) and not n.maintenance]
    used = {n.name: 0.0 for n in nodes}
    for guest in sim.guests.values():
        node = moved.get(guest.id, guest.node)
        if node not in used:
            continue
        running = sim.running_on_own_node(guest) is not None or guest.id in moved
        if crs.mode == "basic":
            if guest.ha is not None and guest.ha.state in ACTIVE_STATES:
                used[node] += 1
        elif running:
            share = 0.6 if crs.mode == "dynamic" else 1.0  # a guest uses part of its RAM
            used[node] += guest.maxmem * share
    if crs.mode == "basic":
        top = max(used.values(), default=0) or 1
        return {name: 100 * v / top for name, v in used.items()}
    return {n.name: 100 * used[n.name] / n.maxmem for n in nodes}


def imbalance(values: dict[str, float]) -> float:
    return max(values.values()) - min(values.values()) if len(values) > 1 else 0.0


def plan(manager: HAManager, limit: int = 5) -> list[Move]:
    """Recommendations, best first, each on top of the ones before it; a forbidden
    move is listed (with its rule) when it would have been the best."""
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
                        best_blocked = Move(guest.id, node, target, gain, c.reason)
                elif best is None or gain > best.gain:
                    best = Move(guest.id, node, target, gain)
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
    manager.crs = CRSSettings(mode, auto_rebalance, threshold, hold, margin)
    manager.sim.narrate(EventKind.HA_REQUEST, f"CRS: {mode} scheduler, auto-rebalance "
                        f"{'on' if auto_rebalance else 'off'} (threshold {threshold:.0f}, "
                        f"hold {hold} rounds, margin {margin:.0f})")
