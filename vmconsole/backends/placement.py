"""What a backend says about where its running guests may go, gathered for the
rebalance planner (`vmconsole.balance`): the backend's own rules
(`SupportsPlacementRules`: HA groups and affinity, whether its CRS balances HA guests
itself) and, guest by guest, its migration check (`Backend.migration_targets`: local
disks, nodes refused and why). Blocking: one backend call per running guest."""

from __future__ import annotations

from collections.abc import Callable

from vmconsole.backends.abilities import SupportsPlacementRules
from vmconsole.backends.base import Backend, BackendError, NotSupported
from vmconsole.balance import Rules
from vmconsole.model import Inventory


def gather(backend: Backend, inventory: Inventory,
           progress: Callable[[int, int], None] | None = None) -> Rules:
    """The placement rules of `inventory`'s running guests. `progress(done, total)` is
    called before each guest's check. A guest whose check fails is pinned with the
    backend's words; raises nothing a backend raises but what `placement_rules` raises
    (BackendError: the cluster's rules could not be read, so no plan should be made)."""
    rules = backend.placement_rules() if isinstance(backend, SupportsPlacementRules) else Rules()
    refused = {guest: dict(nodes) for guest, nodes in rules.refused.items()}
    pinned = dict(rules.pinned)
    running = [g for g in inventory.guests if g.running and not g.template]
    for done, guest in enumerate(running):
        if progress is not None:
            progress(done, len(running))
        if guest.id in pinned or (guest.ha is not None and rules.crs is not None):
            continue
        try:
            targets = backend.migration_targets(guest.id)
        except NotSupported:
            break
        except BackendError as exc:
            pinned[guest.id] = f"the backend could not check its migration: {exc.message}"
            continue
        disks = sorted({disk for t in targets for disk in t.local_disks})
        if disks:
            pinned[guest.id] = f"local disks {', '.join(disks)}: cannot migrate live"
            continue
        for target in targets:
            if not target.allowed:
                refused.setdefault(guest.id, {})[target.node] = target.reason
    if progress is not None:
        progress(len(running), len(running))
    return Rules(refused, pinned, rules.affinity, rules.crs)
