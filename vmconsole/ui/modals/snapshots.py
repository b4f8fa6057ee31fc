"""The snapshot panel: a guest's snapshot tree (each with its parent, time, description
and whether it holds RAM state), with "now" marked, and the snapshot operations: take,
roll back, delete, and clone from a snapshot."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from vmconsole.backends.base import Task
from vmconsole.model import Guest
from vmconsole.model.snapshots import Snapshot
from vmconsole.text import visible
from vmconsole.ui.key_hints import keys_for
from vmconsole.ui.modals.task_panel import TaskPanel
from vmconsole.ui.symbols import UNICODE, Symbols, draw_tree

NOW = "\x00now"  # the tree node for the guest's present state
# The hint line under the tree: (binding id, what it does), its keys read from the keymap.
KEYS_HINT = (("snapshots.take", "take"), ("snapshots.rollback", "roll back"),
             ("snapshots.delete", "delete"), ("snapshots.clone", "clone"),
             ("snapshots.close", "close"))


class SnapshotOps(Protocol):
    """What the panel asks its opener to do; each returns the task it started, or None
    when the user cancelled or was refused."""

    @property
    def may_change(self) -> bool:
        """Does this console's role and mode allow changes (else only looking)?"""
        ...

    def load(self) -> Awaitable[list[Snapshot] | None]: ...
    def take(self, existing: list[str]) -> Awaitable[Task | None]: ...
    def rollback(self, name: str) -> Awaitable[Task | None]: ...
    def delete(self, name: str) -> Awaitable[Task | None]: ...
    def clone(self, name: str) -> Awaitable[Task | None]: ...


def snapshot_label(snap: Snapshot) -> Text:
    text = Text(visible(snap.name), "bold", no_wrap=True, overflow="ellipsis")
    if snap.created is not None:
        text.append("  " + time.strftime("%Y-%m-%d %H:%M", time.localtime(snap.created)))
    if snap.vmstate:
        text.append("  +RAM")
    if snap.description:
        text.append(f"  {visible(snap.description)}", "dim")
    return text


def now_parent(snapshots: list[Snapshot]) -> str | None:
    """The snapshot the present state follows: the parent of the "current" entry that
    Proxmox lists (`qm listsnapshot`), or the snapshot flagged current."""
    here = next((s for s in snapshots if s.current), None)
    if here is None:
        return None
    return here.parent if here.name == "current" else here.name


class SnapshotPanel(TaskPanel):
    WHAT, PREFIX, GROUP, KEYS_HINT = "Snapshots", "snap", "snapshots", KEYS_HINT
    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="snapshots.close"),
        Binding("n", "take", "Take", id="snapshots.take"),
        Binding("r", "rollback", "Roll back", id="snapshots.rollback"),
        Binding("x,delete", "delete", "Delete", id="snapshots.delete"),
        Binding("c", "clone", "Clone", id="snapshots.clone"),
    ]

    def __init__(self, guest: Guest, ops: SnapshotOps,
                 polled_tasks: Callable[[], Sequence[Task]],
                 symbols: Symbols = UNICODE) -> None:
        super().__init__(guest, ops.may_change, polled_tasks)
        self.ops = ops
        self.symbols = symbols  # the tree's toggles and guide lines
        self.snapshots: list[Snapshot] = []

    def list_widget(self) -> Tree[str]:
        # Text, not str: a Tree reads a str label as markup.
        tree: Tree[str] = Tree(Text(visible(self.guest.name)), id="snap-tree")
        tree.show_root = True
        draw_tree(tree, self.symbols)
        return tree

    async def reload(self) -> None:
        snapshots = await self.ops.load()
        if snapshots is not None:
            self.show_snapshots(snapshots)

    def show_snapshots(self, snapshots: list[Snapshot]) -> None:
        self.snapshots = [s for s in snapshots if s.name != "current"]
        tree = self.query_one(Tree)
        selected = self.selected_name()
        tree.clear()
        nodes: dict[str | None, TreeNode[str]] = {None: tree.root}
        pending = list(self.snapshots)
        while pending:  # parents before children, whatever order the backend gave
            waiting = {p.name for p in pending}
            ready = [s for s in pending if s.parent not in waiting] or pending[:1]
            for snap in ready:
                parent = nodes.get(snap.parent, tree.root)
                nodes[snap.name] = parent.add(snapshot_label(snap), snap.name, expand=True)
                pending.remove(snap)
        nodes.get(now_parent(snapshots), tree.root).add_leaf(
            Text("NOW  (the guest as it is)", "italic"), NOW)
        tree.root.expand_all()
        if selected in nodes:  # keep the cursor where it was (once the lines exist)
            tree.call_after_refresh(tree.move_cursor, nodes[selected])
        self._describe()

    def selected_name(self) -> str | None:
        node = self.query_one(Tree).cursor_node
        return node.data if node is not None and node.data not in (None, NOW) else None

    @on(Tree.NodeHighlighted)
    def _describe(self) -> None:
        name = self.selected_name()
        snap = next((s for s in self.snapshots if s.name == name), None)
        info = self.query_one("#snap-info", Static)
        if snap is None:
            count = len(self.snapshots)
            info.update(f"{count} snapshot{'s' if count != 1 else ''}" + (
                "; choose one to roll back, delete or clone, or press "
                f"{keys_for(self, 'snapshots.take')} to take one" if self._may_change
                else ""))
            return
        ram = "with RAM state" if snap.vmstate else "disks only"
        parent = f"after {visible(snap.parent)}" if snap.parent else "first snapshot"
        refusal = f" No clone: {visible(snap.clone_refusal)}." if snap.clone_refusal else ""
        info.update(Text(f"{visible(snap.name)}: {ram}, {parent}. "
                         f"{visible(snap.description, limit=None)}".strip() + refusal))

    # --- operations ---------------------------------------------------------------------

    def _on_selected(self, op: Callable[[str], Awaitable[Task | None]]) -> None:
        name = self.selected_name()
        if name is None:
            self.notify("choose a snapshot first", severity="warning")
            return
        self.start(op(name))

    def action_take(self) -> None:
        self.start(self.ops.take([s.name for s in self.snapshots]))

    def action_rollback(self) -> None:
        self._on_selected(self.ops.rollback)

    def action_delete(self) -> None:
        self._on_selected(self.ops.delete)

    def action_clone(self) -> None:
        self._on_selected(self.ops.clone)
