"""Multi-select, bulk actions and node maintenance as a feature of the app: with guests
marked in the tree, a guest action's key acts on the marks (`ui/bulk_flow.py`); `M` on
a node toggles its maintenance. VMConsoleApp combines this with the other features."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.widget import Widget

from vmconsole.ui.extra_operations import ExtraOperations
from vmconsole.ui.widgets.cluster_tree import ClusterTree


class BulkFeatures(ExtraOperations):
    BINDINGS = [
        Binding("M", "maintenance", "Maintenance on or off: the node under the cursor "
                "(its guests migrated first)", show=False, id="node.maintenance"),
    ]

    def on_mount(self) -> None:
        tree = self.query_one(ClusterTree)
        for cluster in self.loops:  # before the first poll builds the nodes' labels
            tree.marks.maintenance[cluster] = self.maintenance_record.nodes(cluster)

    def action_guest(self, name: str) -> None:
        marks = self.query_one(ClusterTree).marks
        if not len(marks):
            super().action_guest(name)
            return
        marked = {cluster: marks.of(cluster) for cluster in marks.clusters()}
        from vmconsole.ui.bulk_flow import BulkFlows  # loaded when marks are acted on

        self.run_worker(BulkFlows(self).perform(name, marked), name=f"bulk {name}",
                        group="flows", exit_on_error=False)

    def action_maintenance(self) -> None:
        ref = self.selected
        if ref is None or not ref.is_node:
            self.notify("choose a node in the tree first", severity="warning")
            return
        node = ref.object_id.removeprefix("node/")
        self.maintenance(ref.cluster, node)

    @on(ClusterTree.MarksChanged)
    def _marks_changed(self, message: ClusterTree.MarksChanged) -> None:
        left: Widget = self.query_one("#left")
        left.border_title = f"clusters · {message.count} marked" if message.count else "clusters"
