"""The tree's rows for guests, added as their node comes near the screen.

A node's guests and storages are added to the tree when the node first comes near the
screen (within a screen's height below it, expanded), or when a guest or storage of it
is selected, not when the cluster is first shown: at 10,000 guests, adding every leaf
took most of the first screen's time, each add making Textual rebuild its lines (issue
12), and the 200 storage rows of 100 nodes were 9 ms of it. Nodes fill from the top
down, so a node above the screen is never waiting for its rows, and scrolling never
makes what is on screen jump. Until it fills, a node's rows are in the inventory only:
a poll's changes to them are not applied to the tree (its fill reads the latest
inventory), and the scroll bar counts the lines drawn so far.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.cells import cell_len
from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.strip import Strip
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from vmconsole.model import Guest, Node, Storage
from vmconsole.ui.labels import guest_label, node_label
from vmconsole.ui.storage_text import storage_label
from vmconsole.ui.styles import LabelStyles
from vmconsole.ui.symbols import UNICODE, Symbols, draw_tree
from vmconsole.ui.widgets.cluster_branch import ClusterBranch, guest_order, matches
from vmconsole.ui.widgets.tree_marks import TreeMarks
from vmconsole.ui.widgets.tree_ref import TreeRef

# Rows below the screen whose nodes are filled ahead, in screens: a key press or a
# wheel turn down reaches only nodes already filled.
AHEAD = 1
# The screen's height assumed before the tree is laid out (the first poll may come first).
FIRST_ROWS = 50


class LazyGuestTree(Tree[TreeRef]):
    """Clusters -> nodes -> guests, each node's guests added when it comes near the
    screen. `ClusterTree` builds the branches and keeps them up to date."""

    def __init__(self, symbols: Symbols = UNICODE, **kwargs: object) -> None:
        self._branches: dict[str, ClusterBranch] = {}  # before Tree's first _build
        self._batches = 0  # `batched` blocks open
        self._invalidated = False  # a node was added or removed in the open block
        super().__init__("clusters", **kwargs)  # type: ignore[arg-type]
        self.show_root = False
        self.guide_depth = 2
        self.symbols = symbols
        self.styles_ = LabelStyles.from_variables({})
        self.filter_text = ""
        self.marks = TreeMarks()

    @property
    def symbols(self) -> Symbols:
        """The marks the rows are drawn with, the toggles of clusters and nodes too."""
        return self._symbols

    @symbols.setter
    def symbols(self, symbols: Symbols) -> None:
        self._symbols = symbols
        draw_tree(self, symbols)

    def selected_ref(self) -> TreeRef | None:
        node = self.cursor_node
        return node.data if node is not None else None

    def select_ref(self, ref: TreeRef) -> bool:
        """Move the cursor to REF, expanding what holds it (and adding its node's rows
        to the tree if they are not yet). False when the tree does not show REF."""
        branch = self._branches.get(ref.cluster)
        if branch is not None and ref.object_id not in branch.nodes and branch.unfilled:
            host = branch.unfilled.get(f"node/{_owner(branch, ref)}")
            if host is not None:
                self._fill_through(host)
        target = branch.root if branch and ref.is_cluster else (
            branch.nodes.get(ref.object_id) if branch else None)
        if target is None:
            return False
        parent = target.parent
        while parent is not None:
            if not parent.is_expanded:  # each expand posts a NodeExpanded (`_add_host_node`)
                parent.expand()
            parent = parent.parent
        if target.line < 0:  # just added: its line is known only after the next layout
            self.call_after_refresh(self.move_cursor, target)
        else:
            self.move_cursor(target)
        return True

    # --- filling nodes as they come near the screen ----------------------------------

    def _build(self) -> None:
        # Textual builds its lines whenever a node was added, removed, expanded or
        # collapsed, before it draws: the one place that sees every expansion in time.
        # The cursor's node removed (a delete), Textual's rebuild makes the row now on
        # its line the cursor's node without a NodeHighlighted (the line is the same):
        # the detail pane said "gone" under a live row until the next key.
        was = self.cursor_node
        super()._build()
        if self._fill_near_screen():
            super()._build()
        now = self.cursor_node
        if was is not None and now is not None and now is not was:  # nodes by identity
            self.post_message(self.NodeHighlighted(now))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._fill_near_screen()

    def _fill_near_screen(self) -> bool:
        """Add the guests of every expanded node that is above the screen's bottom plus
        AHEAD screens, top down. True when any was added (the lines changed)."""
        if not any(b.unfilled for b in self._branches.values()):
            return False
        rows = self.size.height or FIRST_ROWS
        bottom = int(self.scroll_offset.y) + rows * (1 + AHEAD)
        pushed = 0  # lines added above the nodes still to look at, by this call
        with self.batched():
            for branch in self._branches.values():
                if not branch.root.is_expanded:
                    continue
                # In the order drawn: under vCenter's datacenters and clusters, that is not
                # the inventory's order of nodes.
                for tn in sorted(branch.unfilled.values(), key=lambda t: t.line):
                    if tn.line < 0:  # not drawn yet
                        continue
                    if tn.line + pushed > bottom:  # and so is every node after it
                        return pushed > 0
                    if tn.is_expanded:
                        pushed += self._fill(branch, tn)
        return pushed > 0

    def _fill_through(self, target: TreeNode[TreeRef]) -> None:
        """Add the guests of TARGET and of every expanded node above it."""
        with self.batched():
            for branch in self._branches.values():
                for tn in list(branch.unfilled.values()):
                    if tn is target or tn.is_expanded:
                        self._fill(branch, tn)
                    if tn is target:
                        return

    def _fill(self, branch: ClusterBranch, tn: TreeNode[TreeRef]) -> int:
        """Add a node's guests (those matching the filter), then its storages (none
        while a filter is on: it matches guests), from the branch's latest inventory, in
        order, as Proxmox's tree lists them; returns how many rows. An unfilled node has
        no rows under it: polls leave it alone (`ClusterTree`)."""
        ref = tn.data
        inventory = branch.inventory
        assert ref is not None and inventory is not None
        del branch.unfilled[ref.object_id]
        host = ref.object_id.removeprefix("node/")
        guests = sorted((g for g in inventory.guests_on(host)
                         if matches(g, self.filter_text)), key=guest_order)
        storages = [] if self.filter_text else [s for s in inventory.storages
                                                if s.node == host]
        for guest in guests:
            branch.nodes[guest.id] = tn.add_leaf(
                self._guest_label(ref.cluster, guest), TreeRef(ref.cluster, guest.id))
        for storage in storages:
            self._add_storage(branch, tn, ref.cluster, storage)
        return len(guests) + len(storages)

    def _add_storage(self, branch: ClusterBranch, parent: TreeNode[TreeRef], cluster: str,
                     storage: Storage) -> None:
        """A storage's row, last under `parent`: its node, or the cluster for one no
        node owns."""
        branch.nodes[storage.id] = parent.add_leaf(storage_label(storage, self.styles_),
                                                   TreeRef(cluster, storage.id))

    def on_resize(self, event: events.Resize) -> None:
        """Keep the cursor's row in view when the tree gets shorter (the task log, the
        teaching panel or the ping panel shown, the terminal resized): keys act on that
        row, so it must not be left under the panel. After the layout, where the new
        height is the one scrolled in; not animated, as the resize is not."""
        if self.cursor_line >= 0:
            self.call_after_refresh(self._keep_cursor_in_view)

    def _keep_cursor_in_view(self) -> None:
        if self.cursor_line >= 0:
            self.scroll_to_line(self.cursor_line, animate=False)

    # --- adding many rows at once ---------------------------------------------------------

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Rows added or removed in the block ask Textual for one relayout, at its end,
        not one each: the first fill of a 10,000-guest cluster adds some 400 rows, and
        each add's relayout request (Tree._invalidate: Widget.refresh(layout=True))
        cost more than the add itself (issue 12). The tree's lines are still rebuilt
        on demand inside the block, so a row's `line` is right when it is read."""
        self._batches += 1
        try:
            yield
        finally:
            self._batches -= 1
            if not self._batches and self._invalidated:
                self._invalidated = False
                super()._invalidate()

    def _invalidate(self) -> None:
        if not self._batches:
            super()._invalidate()
            return
        # What Tree._invalidate does at once (the lines and their cache are stale); the
        # node highlight reset and the relayout wait for the block's end.
        self._clear_line_cache()
        self._updates += 1
        self._invalidated = True

    def process_label(self, label: str | Text) -> Text:
        """The label as Tree keeps it: our labels are one-line `Text` already (`visible()`
        escapes line breaks), kept as they are instead of Tree's copy by `Text.split`,
        which took a third of an add. Tree copies a label before it styles it
        (Tree.render_label), so sharing it is safe."""
        if isinstance(label, Text) and "\n" not in label.plain:
            return label
        return super().process_label(label)

    def get_label_width(self, node: TreeNode[TreeRef]) -> int:
        """The label's width as Tree.render_label draws it (the toggle icon, then the
        label), without drawing it: Textual measures every line on each rebuild."""
        icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
        label = node.label
        width = label.cell_len if isinstance(label, Text) else cell_len(label)
        return width + (cell_len(icon) if node.allow_expand else 0)

    def render_line(self, y: int) -> Strip:
        """A row as Tree draws it, ending in the symbols' cut mark (`…`, `...` in ASCII)
        when the row runs on past the right edge: a cut name says it is cut (the tree
        scrolls sideways to the rest). A row's end is measured as Tree measures its
        virtual width; the edge is the scroll bar's, which covers the last cells of
        Tree's `size.width` row. Those cells are blank: the first frame after the tree
        outgrows its pane is drawn before Textual lays the new scroll bar over them, and
        the name's end there read `templ…te` at 80x24."""
        strip = super().render_line(y)
        lines, width = self._tree_lines, self.scrollable_content_region.width
        row = y + self.scroll_offset.y
        mark = self.symbols.cut
        if width <= cell_len(mark) or row >= len(lines):
            return strip
        line = lines[row]
        end = self.get_label_width(line.node) + line._get_guide_width(self.guide_depth,
                                                                       self.show_root)
        if end <= self.scroll_offset.x + width:
            return strip
        start = width - cell_len(mark)
        last = next(iter(strip.crop(start, width)), None)
        style = last.style if last else None
        return Strip.join([strip.crop(0, start), Strip([Segment(mark, style)], cell_len(mark)),
                           Strip.blank(strip.cell_length - width, style)])

    # --- labels ------------------------------------------------------------------------

    def _guest_label(self, cluster: str, guest: Guest) -> Text:
        return self.marks.guest(cluster, guest.id,
                                guest_label(guest, self.symbols, self.styles_),
                                self.symbols, self.styles_)

    def _node_label(self, cluster: str, node: Node) -> Text:
        return self.marks.node(cluster, node.name, node_label(node, self.symbols, self.styles_),
                               node.ha_state == "maintenance", self.styles_)

    # --- keys --------------------------------------------------------------------------

    def action_scroll_end(self) -> None:
        """G: the last line of the whole tree, every node's guests added first."""
        for branch in self._branches.values():
            if branch.unfilled:
                self._fill_through(list(branch.unfilled.values())[-1])
        super().action_scroll_end()


def _owner(branch: ClusterBranch, ref: TreeRef) -> str | None:
    """The node whose row holds REF's guest or node-local storage, from the branch's
    inventory; None for anything else."""
    inventory = branch.inventory
    if inventory is None:
        return None
    found = inventory.storage(ref.object_id) if ref.is_storage else inventory.guest(
        ref.object_id)
    return found.node if found is not None else None
