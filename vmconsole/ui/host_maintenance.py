"""`M` on a host whose backend has a maintenance mode of its own (`SupportsHostMaintenance`:
vCenter's `EnterMaintenanceMode_Task`). The tree shows the backend's state (vCenter's
`runtime.inMaintenanceMode`, as polled), not a record of the console's, so `M` also
ends a maintenance mode that another client began.

Entering shows the plan that empties the host first. Where the backend's own scheduler
moves the running guests (`host_evacuation`: DRS, fully automated), the plan migrates
none and says so. Otherwise it is the console's drain plan (`placement.drain`), run as
a bulk migration, and the host enters maintenance mode only once every migration
succeeded and no running guest is left on it: vCenter's task would otherwise wait,
without end, for VMs that nobody moves. Leaving asks nothing, as leaving is harmless.
"""

from __future__ import annotations

from vmconsole.actor import Role
from vmconsole.backends.abilities import SupportsHostMaintenance
from vmconsole.backends.base import Backend, Task
from vmconsole.bulk import BulkReport, guests_text
from vmconsole.model import GuestStatus, Inventory, NodeHAState
from vmconsole.operations import OpRequest
from vmconsole.placement import Placement, Stay, drain
from vmconsole.text import visible
from vmconsole.ui.base_app import ConsoleBase
from vmconsole.ui.bulk_flow import BulkFlows
from vmconsole.ui.bulk_plans import placement_plan


async def node_maintenance(app: ConsoleBase, cluster: str, node: str) -> None:
    """`M` on a node, by its key or the palette: a host with a maintenance mode of its
    own gets this module's flow, any other node `BulkFlows.maintenance`'s."""
    flows = BulkFlows(app)
    result, loop = app.latest.get(cluster), app.loops.get(cluster)
    if (result is not None and result.inventory is not None and loop is not None
            and isinstance(loop.backend, SupportsHostMaintenance)):
        await HostMaintenance(flows).toggle(cluster, node, result.inventory)
    else:
        await flows.maintenance(cluster, node)


def _host(backend: Backend) -> SupportsHostMaintenance:
    if not isinstance(backend, SupportsHostMaintenance):  # the flow is offered only there
        raise TypeError("this backend has no maintenance mode of its own")
    return backend


def plan(backend: Backend, inventory: Inventory, node: str, away: frozenset[str]
         ) -> tuple[str | None, Placement]:
    """(who moves the running guests, or None; the placement that empties `node`),
    blocking: it asks the backend. With a mover, every guest stays in the plan's sense."""
    mover = _host(backend).host_evacuation(node)
    if mover is None:
        return None, drain(inventory, node, lambda g: backend.migration_targets(g.id), away)
    return mover, Placement((), tuple(
        Stay(g, f"{mover} moves it" if g.status is GuestStatus.RUNNING
             else "not running: vCenter registers it on another host "
             "(evacuatePoweredOffVms)")
        for g in sorted(inventory.guests_on(node), key=lambda g: g.name)))


class HostMaintenance:
    """The maintenance flow of one console, for hosts of such backends."""

    def __init__(self, flows: BulkFlows) -> None:
        self.flows = flows
        self.app = flows.app

    async def toggle(self, cluster: str, node: str, inventory: Inventory) -> None:
        """Leave maintenance mode (at once), or show the plan, run it, then enter."""
        app = self.app
        host = inventory.node(node)
        if host is None:
            return
        entering = host.ha_state != NodeHAState.MAINTENANCE
        verb = "enter" if entering else "exit"
        title = f"{verb.capitalize()} maintenance mode: {visible(node)}"
        # A host out of service for every user of the vCenter: the admin's, as the
        # server's own check for served sessions has it (serve/hub.py).
        request = OpRequest(cluster, f"node/{node}", f"maintenance_{verb}", title,
                            {"node": node}, Role.ADMIN)
        if not app.runner.permitted(request):
            return

        recorded = node in app.maintenance_record.nodes(cluster)

        def switch(backend: Backend) -> Task:
            task = _host(backend).set_host_maintenance(node, entering)
            if recorded:  # put there by an older console's `M`: vCenter's state rules now
                app.maintenance_record.set(cluster, node, False)
            return task

        async def switch_now() -> None:
            await app.runner.run(request, switch)
            if recorded:
                app.show_maintenance(cluster)

        if not entering:
            await switch_now()
            return
        away = app.maintenance_nodes(cluster)
        found = await app.runner.query(cluster, "the maintenance plan",
                                       lambda b: plan(b, inventory, node, away))
        if found is None:
            return
        mover, placed = found
        left_running = [s.guest for s in placed.stays if s.guest.status is GuestStatus.RUNNING]
        moved = (f"{mover} moves {guests_text(len(left_running))}" if mover is not None
                 else f"migrate {guests_text(len(placed.moves))}")
        bulk = placement_plan(cluster, f"Empty {visible(node)}: {moved}", placed)
        if mover is not None:
            how = f"{mover} moves its running VMs: the console migrates none."
        else:
            how = "It enters maintenance mode once these migrations have emptied it."
            if left_running:
                how += (f" {guests_text(len(left_running))} running can go nowhere (listed): "
                        "it enters only once they are moved or off.")

        def after(report: BulkReport | None) -> None:
            left = [f.item.name for f in (report.failures if report else [])]
            left += [g.name for g in left_running] if mover is None else []
            if left:
                app.runner.refuse(request, f"{visible(node)} stays out of maintenance mode: "
                                  f"{guests_text(len(left))} still run there "
                                  f"({', '.join(visible(n) for n in left)}); move them or "
                                  "power them off, then M again", "error")
                return
            app.run_worker(switch_now(), name=title, group="flows", exit_on_error=False)

        await self.flows.confirm_and_run(
            bulk, f"Put {visible(node)} into maintenance mode? It takes no new VMs until "
            f"maintenance mode is off. {how}", after=after)


__all__ = ["HostMaintenance", "node_maintenance", "plan"]
