"""The live tree: clusters, their nodes and the nodes' guests, updated by diff.

Where a backend has levels of its own between the cluster and its nodes (vCenter's
datacenters and vSphere clusters: `Inventory.containers`), they stand between them:
vc → DC0 datacenter → DC0_C0 vSphere cluster → hosts → VMs, a standalone host right
under its datacenter. An id -> TreeNode map per cluster lets a poll relabel only the
guests whose label changed and add, remove or move only what the topology changed.
A node's guests are added when it comes near the screen (`lazy_guest_tree`).
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets.tree import TreeNode

from vmconsole.model import Guest, Node
from vmconsole.monitor.poller import PollResult
from vmconsole.text import visible
from vmconsole.ui.keymapped import keymapped
from vmconsole.ui.labels import cluster_label, container_label
from vmconsole.ui.storage_text import storage_label
from vmconsole.ui.styles import LabelStyles
from vmconsole.ui.symbols import Symbols
from vmconsole.ui.widgets.cluster_branch import ClusterBranch, guest_order, matches
from vmconsole.ui.widgets.lazy_guest_tree import LazyGuestTree
from vmconsole.ui.widgets.tree_ref import TreeRef


class ClusterTree(LazyGuestTree):
    """Clusters -> nodes -> guests. Call `apply()` with each poll result."""

    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False, id="tree.down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="tree.up"),
        Binding("l,right", "expand_node", "Expand, or to the first child", show=False,
                id="tree.expand"),
        Binding("h,left", "collapse_node", "Collapse, or to the parent", show=False,
                id="tree.collapse"),
        Binding("g", "scroll_home", "Top", show=False, id="tree.top"),
        Binding("G", "scroll_end", "Bottom", show=False, id="tree.bottom"),
        # Space on a node or cluster still opens or closes it, as Tree's own Space did.
        Binding("space", "mark", "Mark or unmark the guest for a bulk action", show=False,
                id="tree.mark"),
        Binding("asterisk", "mark_shown", "Mark every guest shown (the filter's), or "
                "clear the marks", show=False, id="tree.mark_shown"),
    ]

    class MarksChanged(Message):
        """The marked guests changed: `count` are marked now."""

        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    # --- public -------------------------------------------------------------------------

    def apply(self, result: PollResult) -> None:
        """Bring one cluster's branch up to date with a poll result."""
        branch = self._branches.get(result.cluster)
        inventory = result.inventory
        if branch is None:
            branch = self._new_branch(result.cluster)
        previous_error, branch.error = branch.error, result.error
        if inventory is None:
            branch.root.set_label(cluster_label(result.cluster, None, result.error, self.styles_))
            return
        first = branch.inventory is None
        with self.batched():  # one relayout for every row this poll adds or removes
            if first:
                branch.inventory = inventory
                self._rebuild(branch)
            elif result.diff is not None:  # None: a failed poll, nothing new to show
                branch.inventory = inventory
                if result.diff.regrouped or (self.filter_text and result.diff.topology_changed):
                    self._rebuild(branch)
                else:
                    self._apply_diff(branch, result)
                if inventory.storages != branch.storages or result.diff.topology_changed:
                    self._sync_storages(branch)  # a node added again gets its rows back
        # A served console's first result carries the hub's diff since its last poll,
        # which says nothing of the quorum this branch has never shown.
        if (first or result.diff is None or result.diff.cluster_changed
                or previous_error != result.error):
            branch.root.set_label(cluster_label(result.cluster, inventory, result.error,
                                                self.styles_))

    def expect(self, clusters: Iterable[str]) -> None:
        """A branch for each of `clusters`, in their order, "connecting…" until its first
        poll ends: a cluster whose API takes its whole timeout to answer (or fail) is in
        the tree from the first screen, not only once that poll is over."""
        for cluster in clusters:
            if cluster not in self._branches:
                branch = self._new_branch(cluster)
                branch.root.set_label(cluster_label(cluster, None, None, self.styles_))

    def restyle(self, variables: dict[str, str], symbols: Symbols | None = None) -> None:
        """Relabel everything: the theme or the symbol set changed."""
        self.styles_ = LabelStyles.from_variables(variables)
        if symbols is not None:
            self.symbols = symbols
        with self.batched():
            for branch in self._branches.values():
                self._rebuild(branch)

    def set_filter(self, text: str) -> None:
        """Show only the guests matching `text` (and their nodes, all open); an empty
        text shows every row again, each node open or closed as before the filter."""
        text = text.strip()
        if text and not self.filter_text:
            for branch in self._branches.values():
                branch.before_filter = ({k for k, n in branch.nodes.items() if n.is_expanded},
                                        set(branch.nodes))
        self.filter_text = text
        with self.batched():
            for branch in self._branches.values():
                self._rebuild(branch)

    def guest_count(self) -> int:
        """Guests the tree lists (those matching the filter), whether their node has
        added them yet or not."""
        count = 0
        for branch in self._branches.values():
            count += sum(1 for k in branch.nodes if TreeRef("", k).is_guest)
            if branch.inventory is not None and branch.unfilled:
                count += sum(1 for g in branch.inventory.guests
                             if f"node/{g.node}" in branch.unfilled
                             and matches(g, self.filter_text))
        return count

    # --- marks and maintenance --------------------------------------------------------

    def set_maintenance(self, cluster: str, nodes: frozenset[str]) -> None:
        """The nodes the console holds in maintenance in CLUSTER: relabel what changed."""
        before = self.marks.maintenance.get(cluster, frozenset())
        self.marks.maintenance[cluster] = nodes
        branch = self._branches.get(cluster)
        if branch is None or branch.inventory is None:
            return
        for name in before ^ nodes:
            node = branch.inventory.node(name)
            tn = branch.nodes.get(f"node/{name}")
            if node is not None and tn is not None:
                tn.set_label(self._node_label(cluster, node))

    def _relabel_marked(self, cluster: str, guest_ids: list[str]) -> None:
        branch = self._branches.get(cluster)
        if branch is None or branch.inventory is None:
            return
        by_id = branch.inventory.guests_by_id()
        for guest_id in guest_ids:
            tn, guest = branch.nodes.get(guest_id), by_id.get(guest_id)
            if tn is not None and guest is not None:
                tn.set_label(self._guest_label(cluster, guest))

    def action_mark(self) -> None:
        """Space: mark or unmark the guest under the cursor; on a node or a cluster,
        open or close it."""
        ref = self.selected_ref()
        if ref is None or not ref.is_guest:
            self.action_toggle_node()
            return
        key = (ref.cluster, ref.object_id)
        (self.marks.marked.discard if key in self.marks.marked else self.marks.marked.add)(key)
        self._relabel_marked(ref.cluster, [ref.object_id])
        self.post_message(self.MarksChanged(len(self.marks)))
        self.action_cursor_down()  # as in a file manager: Space, Space marks two

    def action_mark_shown(self) -> None:
        """*: mark every guest the tree shows (those the filter matches, on every node,
        filled or not); when all of them are marked already, clear every mark."""
        shown = {(cluster, g.id) for cluster, branch in self._branches.items()
                 if branch.inventory is not None
                 for g in branch.inventory.guests if matches(g, self.filter_text)}
        changed = set(self.marks.marked)
        if shown and not shown <= self.marks.marked:
            self.marks.marked |= shown
        else:
            self.marks.marked.clear()
        changed ^= self.marks.marked
        for cluster in {c for c, _ in changed}:
            self._relabel_marked(cluster, [g for c, g in changed if c == cluster])
        self.post_message(self.MarksChanged(len(self.marks)))

    # --- keys --------------------------------------------------------------------------

    async def _on_key(self, event: events.Key) -> None:
        """The tree's own keys (`BINDINGS`, as the user's [keys] map them) act here, as
        Textual would act on them (`App._check_bindings`): the focused widget's bindings
        come first, and the app's priority bindings were tried before the key reached
        the tree. Left to go up first, a cursor key passed through the message queues of
        both columns, the screen and the app before its binding ran: a third of its time
        to the frame that shows it, twice a bare Tree's (issue 12). A key the tree does
        not bind goes on up, to the app's bindings."""
        for binding in keymapped(self).key_to_bindings.get(event.key, ()):
            if not binding.priority and await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()
                return

    def action_expand_node(self) -> None:
        """→ / l, as in a file manager: expand a collapsed branch, or go to the first
        child of an open one."""
        node = self.cursor_node
        if node is None or not node.allow_expand:
            return
        if not node.is_expanded:
            node.expand()
        elif node.children:
            self.move_cursor(node.children[0])

    def action_collapse_node(self) -> None:
        """← / h: collapse an open branch, or go to the parent of a leaf or a closed
        branch (never to the hidden root)."""
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)

    # --- building -----------------------------------------------------------------------

    def _new_branch(self, cluster: str) -> ClusterBranch:
        root = self.root.add(Text(visible(cluster), "bold"), TreeRef(cluster), expand=True)
        branch = self._branches[cluster] = ClusterBranch(root)
        if self.cursor_node is None or self.cursor_line < 0:
            self.move_cursor(root)
        return branch

    def _rebuild(self, branch: ClusterBranch) -> None:
        """Build a branch from scratch (first poll, filter change, theme change)."""
        inventory = branch.inventory
        selected = self.selected_ref()
        expanded = {k for k, n in branch.nodes.items() if n.is_expanded}
        shown = set(branch.nodes)
        if not self.filter_text and branch.before_filter is not None:
            (expanded, shown), branch.before_filter = branch.before_filter, None
        first_build = not branch.nodes
        branch.root.remove_children()
        branch.nodes.clear()
        branch.unfilled.clear()
        if inventory is None:
            return
        cluster = branch.root.data.cluster if branch.root.data else ""
        for container in inventory.containers:  # each after the one around it
            around = branch.nodes.get(container.parent or "", branch.root)
            # Open unless the user closed it: one a filter had hidden comes back open.
            branch.nodes[container.id] = around.add(
                container_label(container), TreeRef(cluster, container.id),
                expand=container.id not in shown or container.id in expanded
                or bool(self.filter_text))
        for node in inventory.nodes:
            # Whether any guest shows under it: they are listed, in order, when it fills.
            guests = any(matches(g, self.filter_text) for g in inventory.guests_on(node.name))
            if self.filter_text and not guests:
                continue
            # Open unless the user closed it, as a container is.
            tn = self._add_host_node(branch, cluster, node, expand=bool(
                first_build or node.id in expanded or node.id not in shown or self.filter_text))
            if guests:
                branch.unfilled[node.id] = tn
        if self.filter_text:  # a datacenter or cluster with no match in it says nothing
            for container in reversed(inventory.containers):
                tn = branch.nodes[container.id]
                if not tn.children:
                    self._drop(branch, container.id)
        branch.storages = ()
        self._sync_storages(branch)
        if selected is not None and selected.cluster == cluster:
            self.select_ref(selected)

    def _add_host_node(self, branch: ClusterBranch, cluster: str, node: Node,
                       expand: bool = False) -> TreeNode[TreeRef]:
        """A host's row, in its container (a vSphere cluster, a datacenter) if it has one,
        open if `expand`: added open, not opened after (`TreeNode.expand` posts a
        NodeExpanded that bubbles through five message queues, which no one here reads:
        100 nodes cost 500 messages, 50 ms of a 10,000-guest demo's first screen)."""
        around = branch.nodes.get(node.container or "", branch.root)
        tn = around.add(self._node_label(cluster, node), TreeRef(cluster, node.id),
                        expand=expand)
        branch.nodes[node.id] = tn
        return tn

    def _apply_diff(self, branch: ClusterBranch, result: PollResult) -> None:
        inventory = branch.inventory
        diff = result.diff
        assert inventory is not None and diff is not None
        objects = inventory.objects()
        cluster = result.cluster
        selected = self.selected_ref()
        for key in diff.removed:
            self._drop(branch, key)
            if (cluster, key) in self.marks.marked:
                self.marks.marked.discard((cluster, key))
                self.post_message(self.MarksChanged(len(self.marks)))
        for key in (*diff.added, *diff.moved):
            obj = objects[key]
            if isinstance(obj, Node):
                if key not in branch.nodes:
                    self._add_host_node(branch, cluster, obj, expand=True)
                continue
            self._drop(branch, key)
            parent = branch.nodes.get(f"node/{obj.node}")
            if parent is None:
                continue
            if parent.data is not None and parent.data.object_id in branch.unfilled:
                continue  # its guests are added, from the inventory, when it fills
            self._insert_guest(branch, parent, obj, cluster)
        for key in diff.relabelled:
            tn = branch.nodes.get(key)
            current = objects.get(key)
            if tn is None or current is None or key in diff.moved:
                continue
            if isinstance(current, Guest):
                tn.set_label(self._guest_label(cluster, current))
            else:
                tn.set_label(self._node_label(cluster, current))
        if selected and selected.cluster == cluster and selected.object_id in diff.moved:
            self.select_ref(selected)

    def _sync_storages(self, branch: ClusterBranch) -> None:
        """Bring the storage rows up to the branch's inventory: a node's under it, after
        its guests; storage no node owns (shared by all) under the cluster. None while
        a filter is on: it matches guests. A node not yet filled gets its storages' rows
        with its guests' (`LazyGuestTree._fill`)."""
        inventory = branch.inventory
        assert inventory is not None
        wanted = {} if self.filter_text else {s.id: s for s in inventory.storages}
        before = {s.id: s for s in branch.storages}
        for sid in before:
            if sid not in wanted:
                self._drop(branch, sid)
        cluster = branch.root.data.cluster if branch.root.data else ""
        for sid, storage in wanted.items():
            tn = branch.nodes.get(sid)
            if tn is None:
                owner = None if storage.node is None else f"node/{storage.node}"
                parent = branch.root if owner is None else branch.nodes.get(owner)
                if parent is not None and owner not in branch.unfilled:
                    self._add_storage(branch, parent, cluster, storage)
            elif before.get(sid) != storage:
                label = storage_label(storage, self.styles_)
                if label.plain != str(tn.label):  # a byte more is not a new row to draw
                    tn.set_label(label)
        # As synced, rows or not: a poll whose storages are these has nothing to sync.
        branch.storages = inventory.storages if wanted else ()

    @staticmethod
    def _drop(branch: ClusterBranch, key: str) -> None:
        """Remove an object's tree node, forgetting what is under it too (a removed
        node takes its children with it; they must not be removed a second time)."""
        tn = branch.nodes.pop(key, None)
        branch.unfilled.pop(key, None)
        if tn is None:
            return
        below = list(tn.children)
        while below:
            child = below.pop()
            below += child.children
            if child.data is not None:
                branch.nodes.pop(child.data.object_id, None)
                branch.unfilled.pop(child.data.object_id, None)
        tn.remove()

    def _insert_guest(self, branch: ClusterBranch, parent: TreeNode[TreeRef], guest: Guest,
                      cluster: str) -> None:
        order = guest_order(guest)
        inventory = branch.inventory
        assert inventory is not None
        by_id = inventory.guests_by_id()
        before = None
        for child in parent.children:
            other = by_id.get(child.data.object_id) if child.data else None
            if (other is not None and guest_order(other) > order) or (
                    child.data is not None and child.data.is_storage):
                before = child
                break
        branch.nodes[guest.id] = parent.add_leaf(
            self._guest_label(cluster, guest), TreeRef(cluster, guest.id), before=before)
