"""What a bulk action will do: its plan, built before it is asked (each guest marked and
what happens to it, each guest skipped and why), as `vmconsole.bulk.BulkPlan`. Each
guest is checked as the single action checks it; a migration's targets come from the
one placement rule (`vmconsole.placement`). `ui/bulk_flow.py` asks and runs it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from vmconsole.backends.base import (
    Backend,
    BackendError,
    MigrationTarget,
    Task,
)
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.removal import RemovalPlan
from vmconsole.bulk import BulkItem, BulkPlan, Skipped, guests_text
from vmconsole.model import Guest, Inventory
from vmconsole.operations import OpRequest
from vmconsole.placement import Placement, migration_mode, spread
from vmconsole.text import visible
from vmconsole.ui.actions import BY_NAME, Selection
from vmconsole.ui.flows import destroy, removal_plan
from vmconsole.ui.labels import named


def bulk_title(name: str) -> str:
    """What a bulk action does, as a verb: "Snapshot", not the panel's "Snapshots"."""
    return "Snapshot" if name == "snapshots" else BY_NAME[name].title


def bulk_question(name: str, plan: BulkPlan) -> str:
    """The question that asks to run `plan` of action `name`. It counts the guests its
    title counts, those acted on, and says how many of the marked are skipped (their
    reasons are listed below it): "Shutdown these 5 guests? 3 of the 8 marked are
    skipped (below)."."""
    acted, skipped = len(plan.items), len(plan.skipped)
    which = "this guest" if acted == 1 else f"these {guests_text(acted)}"
    question = f"{bulk_title(name)} {which}?"
    if skipped:
        verb = "is" if skipped == 1 else "are"
        question += f" {skipped} of the {acted + skipped} marked {verb} skipped (below)."
    return question


# The guest actions that apply to marks: action name -> the audit's word of each item.
BULK = {"start": "start", "shutdown": "shutdown", "stop": "stop", "snapshots": "snapshot",
        "migrate": "migrate", "ha": "ha", "ha_remove": "ha-remove", "delete": "destroy"}
SHUTDOWN_TIMEOUT_S = 60.0  # as the single shutdown form proposes


def migration_item(cluster: str, guest: Guest, node: str, why: str) -> BulkItem:
    mode = migration_mode(guest)
    return BulkItem(
        OpRequest(cluster, guest.id, "migrate", f"Migrate {visible(guest.name)} to {node}",
                  {"node": node, "mode": str(mode), "with_local_disks": False}),
        lambda b: b.migrate(guest.id, node, mode, False), guest.name,
        f"{mode} migration to {node} ({why})", guest.node)


def shown(plan: BulkPlan) -> tuple[list[str], list[str]]:
    """A plan's lines for its confirmation: each item and what happens to it, each
    skipped guest and why."""
    return ([f"{named(i.name, i.request.target, i.node)}: {i.what}" for i in plan.items],
            [f"skipped {named(s.name, s.target, s.node)}: {s.reason}" for s in plan.skipped])


def placement_plan(cluster: str, title: str, placed: Placement) -> BulkPlan:
    return BulkPlan(cluster, "migrate", title,
                    tuple(migration_item(cluster, m.guest, m.target, m.why)
                          for m in placed.moves),
                    tuple(Skipped(s.guest.id, s.guest.name, s.reason, s.guest.node)
                          for s in placed.stays))


def bulk_plan(name: str, cluster: str, guests: list[Guest], inventory: Inventory,
              backend: Backend, away: frozenset[str],
              target: str | None = None) -> BulkPlan:
    """The plan of action `name` on `guests` (blocking: a migration reads each
    guest's targets); `away`: the nodes in maintenance, no target. Each guest is
    checked as the single action checks it."""
    operation = BULK[name]
    action = BY_NAME[name]
    capabilities = backend.capabilities
    items: list[BulkItem] = []
    skipped: list[Skipped] = []
    movers: list[Guest] = []
    stamp = time.strftime("bulk-%Y%m%d-%H%M%S")
    for guest in guests:
        sel = Selection(cluster, guest, inventory, capabilities)
        reason = (f"{action.title.lower()} does not apply to it"
                  if not action.applies(sel) else action.refusal(sel))
        if reason is None and name == "ha" and guest.ha is not None:
            reason = "in HA already: change its settings on its own with H"
        if reason is None and name == "migrate" and target is not None \
                and guest.node == target:  # the backend's "on this node" is no refusal
            reason = f"already on {visible(target)}"
        if reason is None and name == "snapshots" and guest.lock:
            reason = f"locked ({guest.lock})"
        if reason is not None:
            skipped.append(Skipped(guest.id, guest.name, reason, guest.node))
            continue
        if name == "migrate":
            movers.append(guest)
            continue
        try:
            removal = removal_plan(backend, guest.id) if name == "delete" else None
        except BackendError as exc:  # its host went away: the others may still go
            skipped.append(Skipped(guest.id, guest.name, f"not read: {exc.message}",
                                   guest.node))
            continue
        if removal is not None and removal.why_not:
            skipped.append(Skipped(guest.id, guest.name, removal.why_not, guest.node))
            continue
        items.append(_item(cluster, name, operation, guest, stamp, removal))
    if movers:
        placed = spread(movers, lambda g: _targets(backend, g, target),
                        inventory, away)
        if target is not None:
            placed = Placement(tuple(replace(m, why="the node chosen")
                                     for m in placed.moves), placed.stays)
        moved = placement_plan(cluster, "", placed)
        items += moved.items
        skipped += moved.skipped
    title = f"{bulk_title(name)} {guests_text(len(items))}" if items else (
        f"{bulk_title(name)}: nothing to do")
    return BulkPlan(cluster, operation, title, tuple(items), tuple(skipped))

def _targets(backend: Backend, guest: Guest, target: str | None) -> list[MigrationTarget]:
    """The guest's targets; with a chosen node, only that one."""
    targets = backend.migration_targets(guest.id)
    return targets if target is None else [t for t in targets if t.node == target] or [
        MigrationTarget(target, False, f"{target} is not a target for it")]

def _item(cluster: str, name: str, operation: str, guest: Guest, stamp: str,
          removal: RemovalPlan | None = None) -> BulkItem:
    """One guest's item; `removal`: what deleting it does, where disks may stay."""
    gid, title = guest.id, visible(guest.name)
    request = OpRequest(cluster, gid, operation, f"{BY_NAME[name].title}: {title}")
    call: Callable[[Backend], Task]
    if name == "start":
        call, what = (lambda b: b.start(gid)), "start"
    elif name == "shutdown":
        request = OpRequest(cluster, gid, operation, request.description,
                            {"timeout": SHUTDOWN_TIMEOUT_S})
        call = lambda b: b.shutdown(gid, SHUTDOWN_TIMEOUT_S)  # noqa: E731
        what = (f"shutdown by the guest OS; the task fails if the guest still runs "
                f"after {SHUTDOWN_TIMEOUT_S:.0f} s")
    elif name == "stop":
        call, what = (lambda b: b.stop(gid)), "stop at once, like pulling the plug"
    elif name == "snapshots":
        request = OpRequest(cluster, gid, operation, f"Snapshot {stamp} of {title}",
                            {"name": stamp, "vmstate": False})
        call = lambda b: b.snapshot_create(gid, stamp, "bulk snapshot", False)  # noqa: E731
        what = f"snapshot {stamp} (disks, without RAM)"
    elif name == "ha":
        request = OpRequest(cluster, gid, operation, request.description,
                            {"request": "started"})
        call, what = (lambda b: b.ha_set(gid, HASettings())), "add to HA, requested started"
    elif name == "delete":
        call, what = (lambda b: destroy(b, gid)), "delete it and every disk it owns"
        if removal is not None:
            from vmconsole.ui.modals.delete import removal_lines  # loaded when used

            what = "; ".join(line.strip() for line in removal_lines(removal))
    else:  # ha_remove
        call, what = (lambda b: b.ha_remove(gid)), "remove from HA"
    return BulkItem(request, call, guest.name, what, guest.node)
