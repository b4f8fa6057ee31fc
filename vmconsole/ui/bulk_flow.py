"""Bulk actions and maintenance in the console.

With guests marked (Space, `*` in the tree), a guest action's key acts on the marks:
start, shutdown, stop, snapshot (`S`), migrate (to a node, or spread), HA add (`H`) and
HA remove (palette). The plan (each guest and what happens to it, each skipped one
and why: `ui/bulk_plans.py`) is built in a thread, asked once, then run by
`vmconsole.bulk.run_bulk` in a thread: each guest's operation goes through
`Operations.perform` (role, read-only, audit as a single operation) and shows as its
own task; one summary task follows the whole and lists the failures at its end.

`M` on a node toggles maintenance: the plan that empties it (`placement.drain`) is
shown, then the node enters maintenance (the simulator's HA manager, else the
console's record) and the plan runs as a bulk migration. A host with a maintenance
mode of its own (vCenter's) has its flow in `ui/host_maintenance.py`.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial

from vmconsole.actor import Role
from vmconsole.backends.abilities import SupportsNodeAdmin
from vmconsole.backends.base import Backend, Task
from vmconsole.backends.removal import SupportsUndefine
from vmconsole.bulk import BulkPlan, BulkReport, guests_text, run_bulk
from vmconsole.operations import OpRequest
from vmconsole.placement import drain
from vmconsole.text import visible
from vmconsole.ui.actions import BY_NAME
from vmconsole.ui.base_app import ConsoleBase
from vmconsole.ui.bulk_plans import (
    BULK,
    bulk_plan,
    bulk_question,
    bulk_title,
    placement_plan,
    shown,
)
from vmconsole.ui.flows import DELETE_WARNING, undefine

FLUSH_S = 0.25  # how often a running bulk action's changes are shown
SKIPS_TOLD = 5  # skipped guests named in the notice of a bulk action with none to act on
_serial = itertools.count(1)
# What runs on the event loop once a bulk plan ended (None: it had nothing to run).
After = Callable[[BulkReport | None], None]



class BulkFlows:
    """The bulk actions and maintenance of one console."""

    def __init__(self, app: ConsoleBase) -> None:
        self.app = app

    # --- bulk actions ----------------------------------------------------------------


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
            lambda b: bulk_plan(name, cluster, guests, inventory, b,
                                self.app.maintenance_nodes(cluster), target))
        if plan is None:
            return
        loop = self.app.loops.get(cluster)
        if name == "delete" and loop is not None and isinstance(loop.backend,
                                                                 SupportsUndefine):
            await self.confirm_undefine(plan)
            return
        await self.confirm_and_run(plan, bulk_question(name, plan) + (
            f" {DELETE_WARNING}" if name == "delete" else ""))

    async def confirm_undefine(self, plan: BulkPlan) -> None:
        """Delete on a backend whose disks may stay (libvirt): every guest with what
        goes and what stays, asked once with the choice of the disks, then run."""
        from vmconsole.ui.modals.delete import DeleteScreen

        if not plan.items:
            self.refuse_empty(plan)
            return
        lines, skipped = shown(plan)
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
        if not plan.items and before is None and after is None:
            self.refuse_empty(plan)
            return
        lines, skipped = shown(plan)
        from vmconsole.ui.modals.bulk import BulkConfirmScreen  # loaded when used

        if not await self.app.push_screen_wait(BulkConfirmScreen(
                plan.title, question, lines, skipped)):
            return
        if before is not None and not await before():
            return
        if plan.items:
            self.start(plan, after)
        elif after is not None:
            after(None)

    def refuse_empty(self, plan: BulkPlan) -> None:
        """A bulk action with no guest to act on is refused in one notification with
        each skipped guest and why, not asked about as "Start 0 guests?"."""
        _, skipped = shown(plan)
        why = "\n".join(skipped[:SKIPS_TOLD]) if skipped else (
            "none of the marked guests is in the cluster any more")
        if len(skipped) > SKIPS_TOLD:
            why += f"\n… and {len(skipped) - SKIPS_TOLD} more"
        self.app.notify(f"No marked guest to act on:\n{why}", title=plan.title,
                        severity="warning", timeout=10, markup=False)

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
