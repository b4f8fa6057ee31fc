"""A VM's snapshot tree (vSphere's `VirtualMachineSnapshotInfo`) as `model.snapshots.Snapshot`s.

vSphere names need not be unique within a tree; the console addresses snapshots by
name, so a name that two snapshots share is refused as ambiguous. A snapshot "with
memory" is one whose recorded power state is poweredOn: vSphere records poweredOff for a
snapshot of a running VM taken without its memory (vSphere API reference,
`VirtualMachineSnapshotTree.state`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from vmconsole.backends.base import Conflict, NotFound
from vmconsole.model.snapshots import Snapshot
from vmconsole.text import visible


def walk(info: Any) -> Iterator[tuple[Any, Any]]:
    """(tree node, parent tree node or None) for every snapshot, parents first."""
    stack = [(node, None) for node in reversed(getattr(info, "rootSnapshotList", None) or [])]
    while stack:
        node, parent = stack.pop()
        yield node, parent
        stack += [(child, node) for child in reversed(node.childSnapshotList or [])]


def listing(info: Any) -> list[Snapshot]:
    current = getattr(getattr(info, "currentSnapshot", None), "_moId", None)
    return [Snapshot(name=str(node.name), parent=str(parent.name) if parent else None,
                     created=node.createTime.timestamp() if node.createTime else None,
                     description=str(node.description or ""),
                     vmstate=node.state == "poweredOn",
                     current=node.snapshot._moId == current,
                     quiesced=bool(node.quiesced))
            for node, parent in walk(info)]


def find(info: Any, name: str) -> Any:
    """The snapshot (vim.vm.Snapshot) named `name`. Raises NotFound, or Conflict when two
    snapshots carry the name."""
    matches = [node.snapshot for node, _ in walk(info) if node.name == name]
    if not matches:
        raise NotFound(f"no snapshot named {visible(name)}")
    if len(matches) > 1:
        raise Conflict(f"{len(matches)} snapshots are named {visible(name)}: rename one "
                       "in vSphere first")
    return matches[0]


def current(info: Any) -> Any:
    """The VM's current snapshot (vim.vm.Snapshot), or None."""
    return getattr(info, "currentSnapshot", None)


__all__ = ["current", "find", "listing", "walk"]
