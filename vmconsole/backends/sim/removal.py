"""Deleting a guest as Proxmox's `qm destroy` does (PVE/API2/Qemu.pm, destroy_vm): a
running guest and an HA resource are refused in PVE's words; the config and the disks
go at the end of a short task."""

from __future__ import annotations

from vmconsole.backends.base import Conflict
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.guards import begin, label
from vmconsole.backends.sim.state import SimGuest
from vmconsole.backends.sim.tasks import TaskRecord
from vmconsole.model import GuestKind

DESTROY_SECONDS = 0.8  # removing the config and freeing each volume


def destroy(sim: Sim, guest: SimGuest) -> TaskRecord:
    kind = "VM" if guest.kind is GuestKind.VM else "CT"
    if sim.running_on_own_node(guest) is not None:
        raise Conflict(f"{kind} {guest.vmid} is running - destroy failed")
    if guest.ha is not None:
        raise Conflict(f"unable to remove {kind} {guest.vmid} - used in HA resources and "
                       "purge parameter not set.")
    task = begin(sim, guest, "destroy", "destroyed", DESTROY_SECONDS)
    task.log.append(f"destroying {label(guest)}: its config and "
                    f"{len(guest.disks)} disk(s)")

    def removed() -> None:
        sim.guests.pop(guest.id, None)
        sim.volumes_changed()
        sim.touch(guest.id)
        task.finish(sim.now)

    sim.after(DESTROY_SECONDS, removed)
    return task
