"""Deleting a guest: the `SupportsDestroy` protocol (with `Capabilities.destroy`).

Proxmox's `DELETE /nodes/{node}/qemu|lxc/{vmid}` (`qm destroy`, `pct destroy`) removes
the guest's config and every disk it owns, as a task ("qmdestroy", "vzdestroy"); PVE
refuses a running guest and, without `purge`, one that is an HA resource
("unable to remove VM 100 - used in HA resources and purge parameter not set."). The
console asks for no purge: a guest is taken out of HA first, on purpose.

libvirt keeps a guest's definition apart from its disks: `SupportsUndefine` shows what
would go and what stays (`RemovalPlan`), and lets the user keep the disks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from vmconsole.backends.base import Task


@runtime_checkable
class SupportsDestroy(Protocol):
    def destroy(self, guest_id: str) -> Task:
        """Delete the guest and its disks. Raises Conflict (running, HA-managed, busy)
        and NotFound; the task's end says whether every disk was removed."""
        ...


@dataclass(frozen=True, slots=True)
class DiskFate:
    """What deleting a guest would do to one of its disks: `disk` is the guest's device
    ("vda"), `volume` where it is ("pool1/web1.qcow2", or a path outside any pool),
    `size` the bytes it takes (0 when unknown). `removable` says it goes when the user
    asks for the disks to go; else `why_kept` says why it stays ("the backing file of
    pool1/web2.qcow2", "also a disk of db1")."""

    disk: str
    volume: str
    size: int = 0
    removable: bool = False
    why_kept: str = ""


@dataclass(frozen=True, slots=True)
class RemovalPlan:
    """What deleting a guest would do, read now: its snapshots, whose metadata goes
    with it, and each disk's fate. `why_not` says why it cannot be deleted now ("" when
    it can)."""

    guest_id: str
    name: str
    snapshots: tuple[str, ...] = ()
    disks: tuple[DiskFate, ...] = ()
    why_not: str = ""

    @property
    def removable(self) -> tuple[DiskFate, ...]:
        return tuple(d for d in self.disks if d.removable)

    @property
    def kept(self) -> tuple[DiskFate, ...]:
        return tuple(d for d in self.disks if not d.removable)


@runtime_checkable
class SupportsUndefine(Protocol):
    """A backend where a guest's definition and its disks go separately, so the user
    chooses whether the disks go too: libvirt's `virDomainUndefineFlags`, then
    `virStorageVolDelete` per volume (`virsh undefine --remove-all-storage`)."""

    def removal_plan(self, guest_id: str) -> RemovalPlan:
        """What `undefine` would do now. Raises NotFound, Unreachable."""
        ...

    def undefine(self, guest_id: str, remove_storage: bool) -> Task:
        """Delete the guest's definition with its snapshots' metadata and, with
        `remove_storage`, every disk `removal_plan` calls removable (read again at the
        call). Raises Conflict (running, HA-managed, busy) and NotFound; the task ends in
        error, naming them, when a volume could not be deleted."""
        ...
