"""Bulk actions and maintenance in the console.

With guests marked (Space, `*` in the tree), a guest action's key acts on the marks:
start, shutdown, stop, snapshot (`S`), migrate (to a node, or spread), HA add (`H`) and
HA remove (palette). The plan (each guest and what happens to it, each skipped one
and why) is built in a thread, asked once, then run by `vmconsole.bulk.run_bulk` in a
thread: each guest's operation goes through `Operations.perform` (role, read-only,
audit as a single operation) and shows as its own task; one summary task follows the
whole and lists the failures at its end.

`M` on a node toggles maintenance: the plan that empties it (`placement.drain`) is
shown, then the node enters maintenance (the simulator's HA manager, else the
console's record) and the plan runs as a bulk migration. A host with a maintenance
mode of its own (vCenter's) has its flow in `ui/host_maintenance.py`.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial

from vmconsole.actor import Role
from vmconsole.backends.base import (
    Backend,
    BackendError,
    HASettings,
    MigrationMode,
    MigrationTarget,
    SupportsNodeAdmin,
    Task,
)
from vmconsole.backends.removal import RemovalPlan, SupportsUndefine
from vmconsole.bulk import BulkItem, BulkPlan, BulkReport, Skipped, guests_text, run_bulk
from vmconsole.model import Guest, GuestKind, GuestStatus, Inventory
from vmconsole.operations import OpRequest
from vmconsole.placement import Placement, drain, spread
from vmconsole.text import visible
from vmconsole.ui.actions import BY_NAME, Selection
from vmconsole.ui.base_app import ConsoleBase
from vmconsole.ui.flows import DELETE_WARNING, destroy, removal_plan, undefine


def bulk_title(name: str) -> str:
    """What a bulk action does, as a verb: "Snapshot", not the panel's "Snapshots"."""
    return "Snapshot" if name == "snapshots" else BY_NAME[name].title


# The guest actions that apply to marks: action name -> the audit's word of each item.
BULK = {"start": "start", "shutdown": "shutdown", "stop": "stop", "snapshots": "snapshot",
        "migrate": "migrate", "ha": "ha", "ha_remove": "ha-remove", "delete": "destroy"}
FLUSH_S = 0.25  # how often a running bulk action's changes are shown
SHUTDOWN_TIMEOUT_S = 60.0  # as the single shutdown form proposes
_serial = itertools.count(1)
# What runs on the event loop once a bulk plan ended (None: it had nothing to run).
After = Callable[[BulkReport | None], None]


def mode_for(guest: Guest) -> MigrationMode:
    """Live for a running VM, restart for a running container, offline when stopped."""
    if guest.status is GuestStatus.STOPPED:
        return MigrationMode.OFFLINE
    return MigrationMode.RESTART if guest.kind is GuestKind.CT else MigrationMode.LIVE


def migration_item(cluster: str, guest: Guest, node: str, why: str) -> BulkItem:
    mode = mode_for(guest)
    return BulkItem(
        OpRequest(cluster, guest.id, "migrate", f"Migrate {visible(guest.name)} to {node}",
                  {"node": node, "mode": str(mode), "with_local_disks": False}),
        lambda b: b.migrate(guest.id, node, mode, False), guest.name,
        f"{mode} migration to {node} ({why})")


def shown(plan: BulkPlan) -> tuple[list[str], list[str]]:
    """A plan's lines for its confirmation: each item and what happens to it, each
    skipped guest and why."""
    return ([f"{visible(i.name)} ({i.request.target}): {i.what}" for i in plan.items],
            [f"skipped {visible(s.name)} ({s.target}): {s.reason}" for s in plan.skipped])


def placement_plan(cluster: str, title: str, placed: Placement) -> BulkPlan:
    return BulkPlan(cluster, "migrate", title,
                    tuple(migration_item(cluster, m.guest, m.target, m.why)
                          for m in placed.moves),
                    tuple(Skipped(s.guest.id, s.guest.name, s.reason) for s in placed.stays))


class BulkFlows:
    """The bulk actions and maintenance of one console."""

    def __init__(self, app: ConsoleBase) -> None:
        self.app = app

    # --- bulk actions ----------------------------------------------------------------

    def plan(self, name: str, cluster: str, guests: list[Guest], inventory: Inventory,
             backend: Backend, target: str | None = None) -> BulkPlan:
        """The plan of action `name` on `guests` (blocking: a migration reads each
        guest's targets). Each guest is checked as the single action checks it."""
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
                skipped.append(Skipped(guest.id, guest.name, reason))
                continue
            if name == "migrate":
                movers.append(guest)
                continue
            try:
                removal = removal_plan(backend, guest.id) if name == "delete" else None
            except BackendError as exc:  # its host went away: the others may still go
                skipped.append(Skipped(guest.id, guest.name, f"not read: {exc.message}"))
                continue
            if removal is not None and removal.why_not:
                skipped.append(Skipped(guest.id, guest.name, removal.why_not))
                continue
            items.append(self._item(cluster, name, operation, guest, stamp, removal))
        if movers:
            away = self.app.maintenance_nodes(cluster)
            placed = spread(movers, lambda g: self._targets(backend, g, target),
                            inventory, away)
            if target is not None:
                placed = Placement(tuple(replace(m, why="the node chosen")
                                         for m in placed.moves), placed.stays)
            moved = placement_plan(cluster, "", placed)
            items += moved.items
            skipped += moved.skipped
        return BulkPlan(cluster, operation, f"{bulk_title(name)} {guests_text(len(items))}",
                        tuple(items),
                        tuple(skipped))

    @staticmethod
    def _targets(backend: Backend, guest: Guest, target: str | None) -> list[MigrationTarget]:
        """The guest's targets; with a chosen node, only that one."""
        targets = backend.migration_targets(guest.id)
        return targets if target is None else [t for t in targets if t.node == target] or [
            MigrationTarget(target, False, f"{target} is not a target for it")]

    @staticmethod
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
        return BulkItem(request, call, guest.name, what)

    async def perform(self, name: str, marked: dict[str, list[str]]) -> None:
        """Action `name` on the marked guests (cluster -> guest ids)."""
        if len(marked) > 1:
            self.app.notify(f"guests of {len(marked)} clusters are marked: a bulk action "
                            "works on one cluster; mark the guests of one only",
                            severity="warning", timeout=8)
            return
        (cluster, ids), = marked.items()
        action = BY_NAME[name]
        if name not in BULK:
            self.app.notify(f"{action.title} works on one guest: clear the marks first "
                            "(* marks every guest shown, then clears them all)",
                            severity="warning", timeout=8)
            return
        title = f"{bulk_title(name)}: {guests_text(len(ids))} marked"
        if not self.app.runner.permitted(OpRequest(cluster, "bulk", BULK[name], title)):
            return
        result = self.app.latest.get(cluster)
        if result is None or result.inventory is None:
            return
        inventory = result.inventory
        by_id = inventory.guests_by_id()
        guests = sorted((g for i in ids if (g := by_id.get(i)) is not None),
                        key=lambda g: (g.vmid or 0, g.name))  # the tree's order
        target: str | None = None
        if name == "migrate":
            from vmconsole.ui.modals.bulk import SPREAD, BulkTargetScreen  # loaded when used

            away = self.app.maintenance_nodes(cluster)
            nodes = [(n.name, "in maintenance" if n.name in away else
                      "" if n.online else str(n.status)) for n in inventory.nodes]
            target = await self.app.push_screen_wait(BulkTargetScreen(title, nodes))
            if target is None:
                return
            target = None if target == SPREAD else target
        plan = await self.app.runner.query(
            cluster, "the bulk plan",
            lambda b: self.plan(name, cluster, guests, inventory, b, target))
        if plan is None:
            return
        loop = self.app.loops.get(cluster)
        if name == "delete" and loop is not None and isinstance(loop.backend,
                                                                 SupportsUndefine):
            await self.confirm_undefine(plan)
            return
        await self.confirm_and_run(plan, f"{bulk_title(name)} these guests?" + (
            f" {DELETE_WARNING}" if name == "delete" else ""))

    async def confirm_undefine(self, plan: BulkPlan) -> None:
        """Delete on a backend whose disks may stay (libvirt): every guest with what
        goes and what stays, asked once with the choice of the disks, then run."""
        from vmconsole.ui.modals.bulk import BulkConfirmScreen  # loaded when used
        from vmconsole.ui.modals.delete import DeleteScreen

        lines, skipped = shown(plan)
        if not plan.items:
            await self.app.push_screen_wait(BulkConfirmScreen(
                plan.title, "Nothing to do: every marked guest is skipped.", [], skipped,
                can_go=False))
            return
        remove_storage = await self.app.push_screen_wait(DeleteScreen(
            plan.title, f"{plan.title}?", lines, skipped))
        if remove_storage is None:
            return
        self.start(replace(plan, items=tuple(
            replace(i, request=replace(i.request, parameters={"remove_storage": remove_storage}),
                    call=partial(undefine, guest_id=i.request.target,
                                 remove_storage=remove_storage))
            for i in plan.items)))

    async def confirm_and_run(self, plan: BulkPlan, question: str,
                              before: Callable[[], Awaitable[bool]] | None = None,
                              after: After | None = None) -> None:
        """Ask once (every item, every skip), then run the plan in a thread worker.
        `before()` runs first when the answer is yes (maintenance on); False stops.
        `after(report)` runs on the event loop once the plan ended (None: it had no item),
        as a vCenter host enters maintenance mode once its VMs are gone."""
        lines, skipped = shown(plan)
        can_go = bool(plan.items) or before is not None or after is not None
        if not can_go:
            question = "Nothing to do: every marked guest is skipped."
        from vmconsole.ui.modals.bulk import BulkConfirmScreen  # loaded when used

        if not await self.app.push_screen_wait(BulkConfirmScreen(
                plan.title, question, lines, skipped, can_go=can_go)):
            return
        if before is not None and not await before():
            return
        if plan.items:
            self.start(plan, after)
        elif after is not None:
            after(None)

    def start(self, plan: BulkPlan, after: After | None = None) -> None:
        """Run the plan in a thread worker. Its threads only note what changed; the
        event loop shows it every FLUSH_S (each task started or ended, and the summary
        task) in one task-log update: 200 guests make 400 changes, which one at a time
        would cost a repaint each and hold the threads until the loop had drawn it."""
        task_id = f"bulk-{next(_serial)}"
        user = self.app.actor.user
        app = self.app
        loop = app.loops.get(plan.cluster)
        lock = threading.Lock()
        changed: dict[str, Task] = {}
        ended: list[BulkReport] = []

        def progress(report: BulkReport, task: Task | None) -> None:
            with lock:
                if task is not None:
                    changed[task.id] = task
                changed[task_id] = report.summary(task_id, user)
                app.unfinished[task_id] = len(plan.items) - report.done
                if report.ended is not None:
                    ended.append(report)
            if loop is not None:
                loop.refresh_soon()

        def flush() -> None:
            with lock:
                tasks = list(changed.values())
                changed.clear()
                report = ended[0] if ended else None
            if tasks:
                app.show_tasks(plan.cluster, tasks)
            if report is not None:
                timer.stop()
                app.unfinished.pop(task_id, None)  # here, not on a thread: quit sums them
                self._tell_end(plan, report)
                if after is not None:
                    after(report)

        timer = app.set_interval(FLUSH_S, flush)
        app.unfinished[task_id] = len(plan.items)
        cap = app.config.bulk_concurrency
        app.notify(f"{guests_text(len(plan.items))}, {cap} at a time; the task log follows it",
                   title=f"{plan.title}: started", timeout=4)
        app.run_worker(lambda: run_bulk(app.operations, plan, progress, cap,
                                        cancel=app.closing, summary_id=task_id), thread=True,
                       group="bulk", exit_on_error=False, name=plan.title)

    def _tell_end(self, plan: BulkPlan, report: BulkReport) -> None:
        failed = report.failures
        if failed:
            self.app.notify("\n".join(f"{f.item.name}: {f.error}" for f in failed),
                            title=f"{plan.title}: {len(failed)} failed", severity="error",
                            timeout=15)
        else:
            self.app.notify(f"all {len(plan.items)} done", title=f"{plan.title}: done",
                            timeout=5)

    # --- maintenance -----------------------------------------------------------------

    async def maintenance(self, cluster: str, node: str) -> None:
        """`M` on a node: leave maintenance, or show the plan that empties the node,
        then enter maintenance and run the plan."""
        result = self.app.latest.get(cluster)
        loop = self.app.loops.get(cluster)
        if result is None or result.inventory is None or loop is None:
            return
        inventory, backend = result.inventory, loop.backend
        managed = isinstance(backend, SupportsNodeAdmin)  # the simulator's HA manager
        entering = node not in self.app.maintenance_nodes(cluster)
        verb = "enable" if entering else "disable"
        title = f"Maintenance {'on' if entering else 'off'}: {visible(node)}"
        # The simulator's HA maintenance changes the model a served class shares.
        request = OpRequest(cluster, f"node/{node}", f"maintenance_{verb}", title,
                            {"node": node}, Role.ADMIN if managed else Role.OPERATOR)
        if not self.app.runner.permitted(request):
            return
        record = self.app.maintenance_record
        if not entering and not managed and node not in record.nodes(cluster):
            # Its HA manager holds it (Proxmox, by `ha-manager crm-command`): not ours.
            self.app.notify(f"{visible(node)} is in HA maintenance: end it on a cluster node "
                            f"with `ha-manager crm-command node-maintenance disable {node}`",
                            title=title, severity="warning", timeout=10)
            return

        def switch(b: Backend) -> str:
            if isinstance(b, SupportsNodeAdmin):
                b.set_maintenance(node, entering)
                return (f"HA node maintenance {verb}d on {node}: the HA manager moves "
                        "its HA guests" if entering else f"{node} takes guests again")
            record.set(cluster, node, entering)
            return f"{node} {'takes no new guests' if entering else 'takes guests again'}"

        async def switch_now() -> bool:
            outcome = await self.app.runner.run(request, switch)
            self.app.show_maintenance(cluster)
            return outcome.ok

        if not entering:
            await switch_now()
            return
        away = self.app.maintenance_nodes(cluster)
        placed = await self.app.runner.query(
            cluster, "the maintenance plan",
            lambda b: drain(inventory, node, lambda g: b.migration_targets(g.id), away,
                            ha_moves=managed or backend.capabilities.vmids))
        if placed is None:
            return
        plan = placement_plan(cluster, f"Empty {visible(node)}: migrate "
                              f"{guests_text(len(placed.moves))}", placed)
        how = ("The HA manager moves the HA guests; these migrations move the others."
               if managed else
               "HA guests are Proxmox's to move: run `ha-manager crm-command "
               f"node-maintenance enable {node}` on a cluster node (its API has no call "
               "for it)." if backend.capabilities.vmids else "")
        await self.confirm_and_run(
            plan, f"Put {visible(node)} into maintenance? It takes no new guests until "
            f"maintenance is off. {how}".strip(), switch_now)
