"""Host operations from the command palette: maintenance mode, for backends that run it
as an operation with a task (`SupportsHostMaintenance`: vCenter). It goes through the
same runner as guest operations: role check, audit record, task log."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from textual.app import SystemCommand
from textual.screen import Screen

from vmconsole.backends.base import Backend, SupportsHostMaintenance, Task
from vmconsole.model import Node, NodeHAState
from vmconsole.text import visible
from vmconsole.ui.modals.confirm import ConfirmScreen
from vmconsole.ui.operations import OpRequest
from vmconsole.ui.operations_features import OperationsFeatures

ENTER_WARNING = ("vCenter waits until no VM runs on the host: DRS moves them when it is "
                 "fully automated; otherwise migrate them first. New VMs cannot start there.")


class HostFeatures(OperationsFeatures):
    def host_selection(self) -> tuple[str, Node] | None:
        """(cluster, node) under the tree's cursor, when its backend runs maintenance."""
        ref = self.selected
        result = self.latest.get(ref.cluster) if ref else None
        loop = self.loops.get(ref.cluster) if ref else None
        if ref is None or not ref.is_node or result is None or result.inventory is None:
            return None
        if loop is None or not isinstance(loop.backend, SupportsHostMaintenance):
            return None
        node = result.inventory.node(ref.object_id.removeprefix("node/"))
        return (ref.cluster, node) if node is not None else None

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        chosen = self.host_selection()
        if chosen is None or not self.session.role.may_operate():
            return
        cluster, node = chosen
        entering = node.ha_state is not NodeHAState.MAINTENANCE
        verb = "Enter" if entering else "Exit"
        yield SystemCommand(f"{verb} maintenance mode: {visible(node.name)}",
                            "Take the host out of service for updates or repair" if entering
                            else "Put the host back into service",
                            partial(self.maintenance, cluster, node.name, entering))

    def maintenance(self, cluster: str, node: str, enabled: bool) -> None:
        """Ask first when entering, then run it as an audited operation."""
        verb = "enter" if enabled else "exit"
        title = f"{verb.capitalize()} maintenance mode: {visible(node)}"
        request = OpRequest(cluster, f"node/{node}", f"maintenance_{verb}", title,
                            {"node": node})

        def call(backend: Backend) -> Task:
            assert isinstance(backend, SupportsHostMaintenance)
            return backend.set_host_maintenance(node, enabled)

        async def flow() -> None:
            if enabled and not await self.push_screen_wait(ConfirmScreen(
                    title, f"Put {visible(node)} into maintenance mode?", ENTER_WARNING,
                    "Enter maintenance")):
                return
            await self.runner.run(request, call)

        if self.runner.permitted(request):
            self.run_worker(flow(), name=f"{cluster}:node/{node}:maintenance", group="flows",
                            exit_on_error=False)
