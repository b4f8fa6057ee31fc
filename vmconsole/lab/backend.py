"""The lab's cluster as the console sees it: the libvirt backend, plus failures on
demand on its nodes (SupportsFaults), so the console's `f` on a lab node breaks the
real node, as `vmconsole lab fail` does. Chosen by `open_backend` for a profile that
names a lab directory (`lab_dir`, written by `lab up`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from vmconsole.backends.abilities import FaultKind
from vmconsole.backends.base import BackendError, Capabilities
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.libvirt import LibvirtBackend
from vmconsole.config import LibvirtCluster
from vmconsole.lab import faults, partition, san
from vmconsole.lab.layout import SAN_POOL, NodeLayout, layout
from vmconsole.lab.shell import LabError
from vmconsole.model import Inventory

_FAULTS = {FaultKind.POWER_OFF: faults.LabFault.POWER,
           FaultKind.CUT_NETWORK: faults.LabFault.NETWORK,
           FaultKind.ISOLATE: faults.LabFault.NETWORK,
           FaultKind.LOSE_STORAGE: faults.LabFault.STORAGE}


class LabBackend(LibvirtBackend):
    """`LibvirtBackend` over the lab's nodes, with `inject_fault`, `partition` and
    `restore` (the SupportsFaults protocol)."""

    def __init__(self, cfg: LibvirtCluster) -> None:
        super().__init__(cfg)
        self.lab_dir = Path(cfg.lab_dir or "")
        # Every poll refreshes each node's `san` pool: a node that lost its path to the
        # target has libvirt stop the pool, and shows so (Node.storage_down) at once.
        self.checked_pools = frozenset({SAN_POOL})

    @property
    def capabilities(self) -> Capabilities:
        return replace(super().capabilities, faults=True)

    def inventory(self) -> Inventory:
        """libvirt's inventory, with the `san` pool's used/total read from the target
        (libvirt counts every LUN of an iscsi-direct pool as fully used)."""
        inv = super().inventory()
        used, total = san.usage(layout(1, 0, self.lab_dir))
        if not total:
            return inv
        return replace(inv, storages=tuple(
            replace(s, used=used, total=total) if s.name == SAN_POOL else s
            for s in inv.storages))

    def _node(self, name: str) -> NodeLayout:
        index = name.removeprefix("pve")
        node = NodeLayout(int(index), self.lab_dir) if index.isdigit() else None
        if node is None or not node.dir.is_dir():
            raise BackendError(f"{name} is not a node of the lab in {self.lab_dir}")
        return node

    def inject_fault(self, node: str, fault: FaultKind) -> None:
        """Fail the node for real (faults.fail); BackendError with the lab's words."""
        kind = _FAULTS[fault]
        try:
            faults.fail(self._node(node), kind)
        except LabError as exc:
            raise BackendError(str(exc)) from None
        self.log.add(EventKind.NODE_FAULT, f"{node} lost its {kind.value} (lab)", node=node)
        self.changed()

    def partition(self, groups: list[list[str]]) -> None:
        """Split the lab's LAN into these groups of nodes (partition.split): each group
        reaches only itself; the target and the console still reach every node.
        BackendError with the lab's words (a partition in force already: restore
        everything first)."""
        try:
            text = partition.split(self.lab_dir, [[self._node(n) for n in g] for g in groups])
        except LabError as exc:
            raise BackendError(str(exc)) from None
        self.log.add(EventKind.PARTITION, f"the LAN is partitioned: {text} (lab)")
        self.changed()

    def restore(self, node: str | None = None) -> None:
        """Undo the fault of one node, or of every node of the lab and a partition."""
        names = [node] if node else [h.name for h in self.hosts]
        if node is None:
            try:
                healed = partition.heal(self.lab_dir)
            except LabError as exc:
                raise BackendError(str(exc)) from None
            if healed:
                self.log.add(EventKind.PARTITION_HEALED, f"the LAN is whole again ({healed}) (lab)")
        for name in dict.fromkeys(names):  # a node's qemu and lxc hosts: one node
            try:
                fault = faults.restore(self._node(name))
            except LabError as exc:
                raise BackendError(str(exc)) from None
            if fault is not None:
                self.log.add(EventKind.NODE_RESTORED, f"{name}: {fault.value} restored (lab)",
                             node=name)
        self.changed()


def open_lab(cfg: LibvirtCluster) -> LabBackend:
    return LabBackend(cfg)
