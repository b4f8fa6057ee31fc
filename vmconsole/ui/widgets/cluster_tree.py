"""The live tree: clusters, their nodes and the nodes' guests, updated by diff.

An id -> TreeNode map per cluster lets a poll relabel only the guests whose label
changed and add, remove or move only what the topology changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from vmconsole.model import Guest, Inventory, Node
from vmconsole.monitor.poller import PollResult
from vmconsole.text import visible
from vmconsole.ui.labels import cluster_label, guest_label, node_label
from vmconsole.ui.styles import LabelStyles
from vmconsole.ui.symbols import UNICODE, Symbols

CLUSTER = "cluster"


@dataclass(frozen=True, slots=True)
class TreeRef:
    """What a tree node stands for: a cluster ("cluster"), a node ("node/pve1") or a
    guest ("qemu/100") of a named cluster."""

    cluster: str
    object_id: str = CLUSTER

    @property
    def is_cluster(self) -> bool:
        return self.object_id == CLUSTER

    @property
    def is_node(self) -> bool:
        return self.object_id.startswith("node/")


def _guest_order(guest: Guest) -> tuple[bool, int, str]:
    return (guest.template, guest.vmid if guest.vmid is not None else 0, guest.name)


def matches(guest: Guest, needle: str) -> bool:
    """Does a guest match the filter text (name, id or tag; case-insensitive)?"""
    if not needle:
        return True
    n = needle.lower()
    return (n in guest.name.lower() or n in guest.id.lower()
            or (guest.vmid is not None and n in str(guest.vmid))
            or any(n in tag.lower() for tag in guest.tags))


class _ClusterBranch:
    """The tree nodes of one cluster, by object id."""

    def __init__(self, root: TreeNode[TreeRef]) -> None:
        self.root = root
        self.nodes: dict[str, TreeNode[TreeRef]] = {}
        self.inventory: Inventory | None = None
        self.error: str | None = None


class ClusterTree(Tree[TreeRef]):
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
    ]

    def __init__(self, symbols: Symbols = UNICODE, **kwargs: object) -> None:
        super().__init__("clusters", **kwargs)  # type: ignore[arg-type]
        self.show_root = False
        self.guide_depth = 2
        self.symbols = symbols
        self.styles_ = LabelStyles.from_variables({})
        self.filter_text = ""
        self._branches: dict[str, _ClusterBranch] = {}

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
        if branch.inventory is None:
            branch.inventory = inventory
            self._rebuild(branch)
        elif result.diff is not None:  # None: a failed poll, nothing new to show
            branch.inventory = inventory
            if self.filter_text and result.diff.topology_changed:
                self._rebuild(branch)
            else:
                self._apply_diff(branch, result)
        if result.diff is None or result.diff.cluster_changed or previous_error != result.error:
            branch.root.set_label(cluster_label(result.cluster, inventory, result.error,
                                                self.styles_))

    def restyle(self, variables: dict[str, str], symbols: Symbols | None = None) -> None:
        """Relabel everything: the theme or the symbol set changed."""
        self.styles_ = LabelStyles.from_variables(variables)
        if symbols is not None:
            self.symbols = symbols
        for branch in self._branches.values():
            self._rebuild(branch)

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip()
        for branch in self._branches.values():
            self._rebuild(branch)

    def selected_ref(self) -> TreeRef | None:
        node = self.cursor_node
        return node.data if node is not None else None

    def select_ref(self, ref: TreeRef) -> bool:
        branch = self._branches.get(ref.cluster)
        target = branch.root if branch and ref.is_cluster else (
            branch.nodes.get(ref.object_id) if branch else None)
        if target is None:
            return False
        parent = target.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        if target.line < 0:  # just added: its line is known only after the next layout
            self.call_after_refresh(self.move_cursor, target)
        else:
            self.move_cursor(target)
        return True

    def guest_count(self) -> int:
        return sum(1 for b in self._branches.values() for k in b.nodes if not k.startswith("node/"))

    # --- keys --------------------------------------------------------------------------

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

    def _new_branch(self, cluster: str) -> _ClusterBranch:
        root = self.root.add(Text(visible(cluster), "bold"), TreeRef(cluster), expand=True)
        branch = self._branches[cluster] = _ClusterBranch(root)
        if self.cursor_node is None or self.cursor_line < 0:
            self.move_cursor(root)
        return branch

    def _rebuild(self, branch: _ClusterBranch) -> None:
        """Build a branch from scratch (first poll, filter change, theme change)."""
        inventory = branch.inventory
        selected = self.selected_ref()
        expanded = {k for k, n in branch.nodes.items() if n.is_expanded}
        first_build = not branch.nodes
        branch.root.remove_children()
        branch.nodes.clear()
        if inventory is None:
            return
        cluster = branch.root.data.cluster if branch.root.data else ""
        for node in inventory.nodes:
            guests = sorted((g for g in inventory.guests_on(node.name)
                             if matches(g, self.filter_text)), key=_guest_order)
            if self.filter_text and not guests:
                continue
            tn = self._add_host_node(branch, cluster, node)
            if first_build or node.id in expanded or self.filter_text:
                tn.expand()
            for guest in guests:
                branch.nodes[guest.id] = tn.add_leaf(
                    guest_label(guest, self.symbols, self.styles_), TreeRef(cluster, guest.id))
        if selected is not None and selected.cluster == cluster:
            self.select_ref(selected)

    def _add_host_node(self, branch: _ClusterBranch, cluster: str, node: Node) -> TreeNode[TreeRef]:
        tn = branch.root.add(node_label(node, self.symbols, self.styles_),
                             TreeRef(cluster, node.id))
        branch.nodes[node.id] = tn
        return tn

    def _apply_diff(self, branch: _ClusterBranch, result: PollResult) -> None:
        inventory = branch.inventory
        diff = result.diff
        assert inventory is not None and diff is not None
        objects = inventory.objects()
        cluster = result.cluster
        selected = self.selected_ref()
        for key in diff.removed:
            self._drop(branch, key)
        for key in (*diff.added, *diff.moved):
            obj = objects[key]
            if isinstance(obj, Node):
                if key not in branch.nodes:
                    self._add_host_node(branch, cluster, obj).expand()
                continue
            self._drop(branch, key)
            parent = branch.nodes.get(f"node/{obj.node}")
            if parent is None:
                continue
            self._insert_guest(branch, parent, obj, cluster)
        for key in diff.relabelled:
            tn = branch.nodes.get(key)
            current = objects.get(key)
            if tn is None or current is None or key in diff.moved:
                continue
            if isinstance(current, Guest):
                tn.set_label(guest_label(current, self.symbols, self.styles_))
            else:
                tn.set_label(node_label(current, self.symbols, self.styles_))
        if selected and selected.cluster == cluster and selected.object_id in diff.moved:
            self.select_ref(selected)

    @staticmethod
    def _drop(branch: _ClusterBranch, key: str) -> None:
        """Remove an object's tree node, forgetting the guests under it too (a removed
        node takes its children with it; they must not be removed a second time)."""
        tn = branch.nodes.pop(key, None)
        if tn is None:
            return
        for child in tn.children:
            if child.data is not None:
                branch.nodes.pop(child.data.object_id, None)
        tn.remove()

    def _insert_guest(self, branch: _ClusterBranch, parent: TreeNode[TreeRef], guest: Guest,
                      cluster: str) -> None:
        order = _guest_order(guest)
        inventory = branch.inventory
        assert inventory is not None
        by_id = inventory.guests_by_id()
        before = None
        for child in parent.children:
            other = by_id.get(child.data.object_id) if child.data else None
            if other is not None and _guest_order(other) > order:
                before = child
                break
        branch.nodes[guest.id] = parent.add_leaf(
            guest_label(guest, self.symbols, self.styles_), TreeRef(cluster, guest.id),
            before=before)
