"""Deleting a guest: the `SupportsDestroy` protocol (with `Capabilities.destroy`).

Proxmox's `DELETE /nodes/{node}/qemu|lxc/{vmid}` (`qm destroy`, `pct destroy`) removes
the guest's config and every disk it owns, as a task ("qmdestroy", "vzdestroy"); PVE
refuses a running guest and, without `purge`, one that is an HA resource
("unable to remove VM 100 - used in HA resources and purge parameter not set."). The
console asks for no purge: a guest is taken out of HA first, on purpose.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from vmconsole.backends.base import Task


@runtime_checkable
class SupportsDestroy(Protocol):
    def destroy(self, guest_id: str) -> Task:
        """Delete the guest and its disks. Raises Conflict (running, HA-managed, busy)
        and NotFound; the task's end says whether every disk was removed."""
        ...
