"""One cluster's inventory at one moment, and how two inventories differ."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from vmconsole.give_way import EVERY, give_way
from vmconsole.model.objects import Guest, Node, Quorum, Storage

if TYPE_CHECKING:
    from vmconsole.model.containers import Container

# What a view draws of an object, as a comparable key (its label's fields): the diff
# lists an id as relabelled only when this key changed. Views own their labels, so the
# caller passes it; without one, every change counts as a relabel.
LabelKey = Callable[[Node | Guest], object]


@dataclass(frozen=True, slots=True)
class InventoryDiff:
    """What changed between two inventories of one cluster, by object id.

    `relabelled` holds the ids whose label key (`LabelKey`, given by the view that draws
    them) changed, a subset of `changed`;
    `changed` holds every id with any change, metrics included; `moved` maps guest ids
    to their new node (a migration or a recovery changes the tree's shape).
    """

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    relabelled: tuple[str, ...] = ()
    moved: dict[str, str] = field(default_factory=dict)
    cluster_changed: bool = False
    # The containers, or the container of a node in one, changed: the tree's levels
    # above the nodes are built again (rare: a host moved into a cluster, a rename).
    regrouped: bool = False

    @property
    def topology_changed(self) -> bool:
        return bool(self.added or self.removed or self.moved or self.regrouped)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.cluster_changed)


@dataclass(frozen=True)
class Inventory:
    """One cluster at one moment: what a backend's single bulk call returns.

    Not slotted: the id maps are computed once per inventory (cached_property), since
    the tree, the detail pane and the diff all look objects up by id.
    """

    cluster: str
    nodes: tuple[Node, ...]
    guests: tuple[Guest, ...]
    storages: tuple[Storage, ...] = ()
    quorum: Quorum | None = None
    taken_at: float = 0.0
    # Levels between the cluster and its nodes (vCenter's datacenters and clusters),
    # each listed after the container around it.
    containers: tuple[Container, ...] = ()

    def node(self, name: str) -> Node | None:
        return next((n for n in self.nodes if n.name == name), None)

    def container(self, container_id: str | None) -> Container | None:
        return next((c for c in self.containers if c.id == container_id), None)

    def storage(self, storage_id: str) -> Storage | None:
        return next((s for s in self.storages if s.id == storage_id), None)

    def container_of(self, node: str) -> Container | None:
        """The innermost container of a node, by its name (None: it has none)."""
        found = self.node(node)
        return self.container(found.container) if found is not None else None

    def nodes_under(self, container_id: str) -> list[Node]:
        """The nodes in a container or in one inside it."""
        inside = {container_id}
        for c in self.containers:  # parents come first: one pass finds every level
            if c.parent in inside:
                inside.add(c.id)
        return [n for n in self.nodes if n.container in inside]

    @cached_property
    def _layout(self) -> tuple[object, ...]:
        """What the tree's levels above the nodes are built from."""
        return ((tuple((c.id, c.name, c.kind, c.parent) for c in self.containers)),
                tuple((n.name, n.container) for n in self.nodes if n.container is not None))

    def guest(self, guest_id: str) -> Guest | None:
        return self.guests_by_id().get(guest_id)

    def guests_by_id(self) -> dict[str, Guest]:
        return self._guests_by_id

    @cached_property
    def _guests_by_id(self) -> dict[str, Guest]:
        return {g.id: g for g in self.guests}

    @cached_property
    def _guests_by_node(self) -> dict[str, list[Guest]]:
        by_node: dict[str, list[Guest]] = {n.name: [] for n in self.nodes}
        for guest in self.guests:
            by_node.setdefault(guest.node, []).append(guest)
        return by_node

    def guests_on(self, node: str) -> list[Guest]:
        return list(self._guests_by_node.get(node, ()))

    def storages_for(self, node: str) -> list[Storage]:
        return [s for s in self.storages if s.node is None or s.node == node]

    def objects(self) -> dict[str, Node | Guest]:
        """Every node and guest by id (one shared dict: do not modify it)."""
        return self._objects

    @cached_property
    def _objects(self) -> dict[str, Node | Guest]:
        out: dict[str, Node | Guest] = {n.id: n for n in self.nodes}
        out.update(self._guests_by_id)
        return out

    def diff(self, newer: Inventory, label_key: LabelKey | None = None) -> InventoryDiff:
        """What `newer` changes relative to this inventory; `label_key` decides which
        changes relabel (None: all of them)."""
        old, new = self.objects(), newer.objects()
        added = tuple(k for k in new if k not in old)
        removed = tuple(k for k in old if k not in new)
        changed: list[str] = []
        relabelled: list[str] = []
        moved: dict[str, str] = {}
        for i, (key, obj) in enumerate(new.items()):
            if not i % EVERY:
                give_way()  # a console's key goes first (`vmconsole.give_way`)
            before = old.get(key)
            # `is` first: a backend that reuses an unchanged entry (the simulator, 9 in
            # 10 guests a poll at 10,000) costs no field-by-field comparison.
            if before is obj or before is None or before == obj:
                continue
            changed.append(key)
            if label_key is None or label_key(before) != label_key(obj):
                relabelled.append(key)
            if isinstance(obj, Guest) and isinstance(before, Guest) and before.node != obj.node:
                moved[key] = obj.node
        cluster_changed = (self.cluster, self.quorum, self.storages, self.containers) != (
            newer.cluster,
            newer.quorum,
            newer.storages,
            newer.containers,
        )
        return InventoryDiff(
            added, removed, tuple(changed), tuple(relabelled), moved, cluster_changed,
            regrouped=self._layout != newer._layout,
        )
