"""Where guests go when many move at once: a bulk migration's "spread" and the plan
that empties a node for maintenance.

The rule is one function, `choose_target`: among the nodes the backend allows for the
guest (`Backend.migration_targets`: online, room, local disks, affinity, as each
backend checks them) and not in maintenance, the one the rebalance planner scores best
(`balance.planner.best_target`: Proxmox's static TOPSIS over CPU and memory, with what
this plan has already sent to each node counted), so a bulk spread, a maintenance
drain and a rebalance plan place guests by one rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vmconsole.backends.base import BackendError, MigrationMode, MigrationTarget
from vmconsole.balance.planner import best_target
from vmconsole.model import Guest, GuestKind, GuestStatus, HARequest, Inventory, Node, NodeHAState


@dataclass(frozen=True, slots=True)
class Move:
    """One guest to one node, and why that node."""

    guest: Guest
    target: str
    why: str  # "TOPSIS score 0.71: pve2 at CPU 40%, memory 55% after"


@dataclass(frozen=True, slots=True)
class Stay:
    """A guest that does not move, and why (local disks, no room, HA moves it...)."""

    guest: Guest
    reason: str


@dataclass(frozen=True, slots=True)
class Placement:
    moves: tuple[Move, ...]
    stays: tuple[Stay, ...]


def migration_mode(guest: Guest) -> MigrationMode:
    """How `guest` moves: offline when stopped, restart for a running container (Proxmox
    VE has no live container migration, pct(1) `migrate --restart`), live for a VM that
    is running or paused: a paused domain is active to libvirt (virDomainIsActive) and to
    qm(1), whose offline migration refuses it."""
    if guest.status is GuestStatus.STOPPED:
        return MigrationMode.OFFLINE
    return MigrationMode.RESTART if guest.kind is GuestKind.CT else MigrationMode.LIVE


def in_maintenance(node: Node, marked: Iterable[str] = ()) -> bool:
    """Is the node in maintenance: its HA manager says so (Proxmox, the simulator), or
    the console put it there (`marked`: the node names of the console's own record)?"""
    return node.ha_state == NodeHAState.MAINTENANCE or node.name in set(marked)


def choose_target(inventory: Inventory, guest: Guest, targets: Iterable[MigrationTarget],
                  excluded: Iterable[str] = (), moved: dict[str, str] | None = None
                  ) -> tuple[str | None, str]:
    """The rule: of the `targets` the backend allows, not `excluded` (in maintenance),
    the one `best_target` scores best, counting the guests `moved` (guest id -> node)
    by this plan already. Returns (node, why) or (None, why none: each refused node
    with the backend's or the planner's reason)."""
    out = set(excluded)
    allowed = {t.node for t in targets if t.allowed and t.node not in out}
    if not allowed:
        reasons = [f"{t.node}: {t.reason or 'not allowed'}" for t in targets
                   if not t.allowed and t.reason != "the guest is on this node"]
        reasons += [f"{name}: in maintenance" for name in sorted(out)
                    if any(t.node == name and t.allowed for t in targets)]
        return None, "no node may take it" + (f" ({'; '.join(reasons)})" if reasons else "")
    others = [n.name for n in inventory.nodes if n.name not in allowed]
    node, why = best_target(inventory, guest.id, exclude=others, moved=moved)
    return node, why if node is not None else f"no node may take it ({why})"


def spread(guests: Iterable[Guest], targets_of: Callable[[Guest], list[MigrationTarget]],
           inventory: Inventory, excluded: Iterable[str] = ()) -> Placement:
    """Place each guest by `choose_target`, counting each guest placed against its node
    before the next is placed (so forty guests do not all go to the one emptiest node).
    `targets_of` is the backend's `migration_targets`; a BackendError from it makes that
    guest stay, with the backend's words."""
    out = tuple(excluded)
    moved: dict[str, str] = {}
    moves: list[Move] = []
    stays: list[Stay] = []
    for guest in guests:
        try:
            targets = targets_of(guest)
        except BackendError as exc:
            stays.append(Stay(guest, exc.message))
            continue
        node, why = choose_target(inventory, guest, targets, out, moved)
        if node is None:
            stays.append(Stay(guest, why))
            continue
        moves.append(Move(guest, node, why))
        moved[guest.id] = node
    return Placement(tuple(moves), tuple(stays))


def drain(inventory: Inventory, node: str,
          targets_of: Callable[[Guest], list[MigrationTarget]],
          excluded: Iterable[str] = (), ha_moves: bool = False) -> Placement:
    """The plan that empties `node` for maintenance: every running guest on it, placed
    by `spread` away from the nodes `excluded` (in maintenance). Stopped guests and
    templates stay (nothing runs; they are defined there and may start elsewhere
    later only by a migration of their own). With `ha_moves` (Proxmox, the simulator),
    HA-managed guests stay in the plan's sense: the HA manager moves them itself when
    the node enters maintenance, and a migration of ours would race it."""
    stays: list[Stay] = []
    movers: list[Guest] = []
    for guest in sorted(inventory.guests_on(node), key=lambda g: (g.vmid or 0, g.name)):
        if guest.template:
            stays.append(Stay(guest, "a template: it runs nowhere"))
        elif guest.status is GuestStatus.STOPPED:
            stays.append(Stay(guest, "stopped: nothing runs on the node"))
        elif ha_moves and guest.ha is not None and guest.ha.request is not HARequest.IGNORED:
            stays.append(Stay(guest, "HA-managed: the HA manager moves it"))
        else:
            movers.append(guest)
    placed = spread(movers, targets_of, inventory, (*excluded, node))
    return Placement(placed.moves, (*placed.stays, *stays))
