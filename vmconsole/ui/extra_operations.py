"""Operations some backends offer beyond the common protocol, from the command palette:
a host's maintenance mode (`SupportsHostMaintenance`, the flow of `M`) and a template
back to a VM (`SupportsTemplateToVM`), both vCenter's. They go through the same runner
as the guest operations: role check, audit record, task log."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from textual.app import SystemCommand
from textual.screen import Screen

from vmconsole.backends.abilities import SupportsHostMaintenance, SupportsTemplateToVM
from vmconsole.backends.base import Backend, Task
from vmconsole.model import Node, NodeHAState
from vmconsole.operations import OpRequest
from vmconsole.text import visible
from vmconsole.ui.operations_features import OperationsFeatures
from vmconsole.ui.typeahead import held_for


class ExtraOperations(OperationsFeatures):
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
        from vmconsole.ui.guest_commands import palette_text  # with the palette

        yield from super().get_system_commands(screen)
        if not self.operations.allowed():  # a viewer, or a read-only console
            return
        selection = self.guest_selection()
        loop = self.loops.get(selection.cluster) if selection else None
        if (selection is not None and selection.guest.template and loop is not None
                and isinstance(loop.backend, SupportsTemplateToVM)):
            guest = selection.guest
            yield SystemCommand(f"Convert to VM: {palette_text(guest.name)}",
                                f"Make the template a VM again, on {palette_text(guest.node)}",
                                partial(self.template_to_vm, selection.cluster, guest.id,
                                        guest.name, guest.node))
        chosen = self.host_selection()
        if chosen is None:
            return
        cluster, node = chosen
        entering = node.ha_state is not NodeHAState.MAINTENANCE
        verb = "Enter" if entering else "Exit"
        yield SystemCommand(f"{verb} maintenance mode: {palette_text(node.name)}",
                            "Take the host out of service for updates or repair" if entering
                            else "Put the host back into service",
                            partial(self.maintenance, cluster, node.name))

    def maintenance(self, cluster: str, node: str) -> None:
        """The flow of `M` (`ui/host_maintenance.py`), for its key and the palette: the
        plan first when entering."""
        from vmconsole.ui.host_maintenance import node_maintenance  # loaded when used

        # The keys typed with `M` wait for its question (which drops them), not the tree.
        self.run_worker(held_for(self, node_maintenance(self, cluster, node)),
                        name=f"{cluster}:node/{node}:maintenance", group="flows",
                        exit_on_error=False)

    def template_to_vm(self, cluster: str, guest_id: str, name: str, node: str) -> None:
        """No question: nothing is lost, and the VM can be a template again."""
        title = f"Convert to VM: {visible(name)}"
        request = OpRequest(cluster, guest_id, "template_to_vm", title, {"node": node})

        def call(backend: Backend) -> Task:
            assert isinstance(backend, SupportsTemplateToVM)
            return backend.convert_to_vm(guest_id, node)

        async def flow() -> None:
            await self.runner.run(request, call)

        if self.runner.permitted(request):
            self.run_worker(flow(), name=f"{cluster}:{guest_id}:to_vm", group="flows",
                            exit_on_error=False)
