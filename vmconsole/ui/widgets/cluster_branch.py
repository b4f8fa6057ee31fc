"""One cluster's branch of the tree (its rows by object id, the nodes whose guests are
not added yet), and the order and filter of a node's guest rows."""

from __future__ import annotations

from textual.widgets.tree import TreeNode

from vmconsole.model import Guest, Inventory, Storage
from vmconsole.ui.widgets.tree_ref import TreeRef


def guest_order(guest: Guest) -> tuple[bool, int, str]:
    """Where a guest's row stands under its node: guests before templates, then by
    VMID (0 when the backend has none), then by name, as Proxmox's tree lists them."""
    return (guest.template, guest.vmid if guest.vmid is not None else 0, guest.name)


def matches(guest: Guest, needle: str) -> bool:
    """Does a guest match the filter text (name, id or tag; case-insensitive)?"""
    if not needle:
        return True
    n = needle.lower()
    return (n in guest.name.lower() or n in guest.id.lower()
            or (guest.vmid is not None and n in str(guest.vmid))
            or any(n in tag.lower() for tag in guest.tags))


class ClusterBranch:
    """The tree nodes of one cluster, by object id."""

    def __init__(self, root: TreeNode[TreeRef]) -> None:
        self.root = root
        self.nodes: dict[str, TreeNode[TreeRef]] = {}
        # Nodes whose guests are not in the tree yet, by node id, in the tree's order.
        self.unfilled: dict[str, TreeNode[TreeRef]] = {}
        self.inventory: Inventory | None = None
        self.error: str | None = None
        self.storages: tuple[Storage, ...] = ()  # as last synced (rows or not)
        # (expanded, shown) row ids as a filter found them: they come back when it clears.
        self.before_filter: tuple[set[str], set[str]] | None = None

