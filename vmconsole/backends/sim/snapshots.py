"""Snapshots as a tree: each new one is a child of the current one. Saving RAM (a
running VM's vmstate) takes time in proportion to its memory; a rollback to a snapshot
with RAM resumes the VM as it was, one without RAM leaves it stopped."""

from __future__ import annotations

import re
from dataclasses import dataclass

from vmconsole.backends.base import Conflict, InvalidInput, NotFound, NotSupported
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.guards import begin, ensure_not_template, label
from vmconsole.backends.sim.power import finish
from vmconsole.backends.sim.state import MiB, SimGuest
from vmconsole.backends.sim.tasks import TaskRecord
from vmconsole.model import GuestKind
from vmconsole.model.snapshots import Snapshot

SNAPSHOT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{1,39}$")  # Proxmox's pve-configid
DISK_SNAPSHOT_SECONDS = 1.0
VMSTATE_SAVE_SPEED = 250 * MiB  # bytes/s written to the vmstate volume
VMSTATE_LOAD_SPEED = 500 * MiB
DELETE_SECONDS = 2.0


@dataclass(slots=True)
class SimSnapshot:
    """A guest snapshot, as `qm listsnapshot` lists it (vmstate: RAM included)."""

    name: str
    parent: str | None
    created: float
    description: str = ""
    vmstate: bool = False


def listing(guest: SimGuest) -> list[Snapshot]:
    """Oldest first; `current` marks the snapshot the guest now stands on (the parent
    of Proxmox's "current" pseudo-entry), as the Proxmox backend reports it."""
    return [Snapshot(s.name, s.parent, s.created, s.description, s.vmstate,
                     s.name == guest.current_snapshot)
            for s in sorted(guest.snapshots.values(), key=lambda s: s.created)]


def _find(guest: SimGuest, name: str) -> SimSnapshot:
    snap = guest.snapshots.get(name)
    if snap is None:
        raise NotFound(f"{label(guest)} has no snapshot '{name}'")
    return snap


def create(sim: Sim, guest: SimGuest, name: str, description: str,
           vmstate: bool) -> TaskRecord:
    if not SNAPSHOT_NAME.match(name) or name == "current":
        raise InvalidInput("invalid snapshot name", {
            "name": "2-40 characters: a letter first, then letters, digits, '-' or '_' "
                    "('current' is reserved)"})
    ensure_not_template(guest, "snapshot")
    if name in guest.snapshots:
        raise Conflict(f"snapshot name '{name}' already used")
    running = sim.running_on_own_node(guest) is not None
    if vmstate and guest.kind is GuestKind.CT:
        raise NotSupported("containers cannot save RAM state: take the snapshot without it")
    with_ram = vmstate and running
    seconds = DISK_SNAPSHOT_SECONDS + (guest.maxmem / VMSTATE_SAVE_SPEED if with_ram else 0)
    task = begin(sim, guest, "snapshot", "snapshot", seconds)
    if with_ram:
        task.log.append(f"saving {guest.maxmem / 2**30:.1f} GiB of RAM state while the VM "
                        f"runs (about {seconds:.0f} s)")
    elif vmstate:
        task.log.append("the VM is stopped: there is no RAM state to save")
    task.log.append(f"snapshotting the disks of {label(guest)}")
    parent = guest.current_snapshot
    started = sim.now

    def taken() -> None:
        guest.snapshots[name] = SimSnapshot(name, parent, started, description, with_ram)
        guest.current_snapshot = name
        finish(sim, guest, task)

    sim.after(seconds, taken)
    return task


def rollback(sim: Sim, guest: SimGuest, name: str) -> TaskRecord:
    snap = _find(guest, name)
    seconds = DISK_SNAPSHOT_SECONDS + (guest.maxmem / VMSTATE_LOAD_SPEED if snap.vmstate
                                       else 0.0)
    task = begin(sim, guest, "rollback", "rollback", seconds)
    node = guest.node
    if sim.running_on_own_node(guest) is not None:
        sim.end_instance(guest.id, node)
        task.log.append("stopping the guest: everything since the snapshot is lost")
    task.log.append(f"rolling back {label(guest)} to '{name}'")

    def rolled_back() -> None:
        guest.current_snapshot = name
        if snap.vmstate:  # RAM restored: the VM runs on from the snapshot's moment
            sim.start_instance(guest.id, node, booted=True)
            task.log.append("RAM state restored: the VM is running again")
        finish(sim, guest, task)

    sim.after(seconds, rolled_back)
    return task


def delete(sim: Sim, guest: SimGuest, name: str) -> TaskRecord:
    snap = _find(guest, name)
    task = begin(sim, guest, "delsnapshot", "snapshot-delete", DELETE_SECONDS)
    task.log.append(f"deleting snapshot '{name}' of {label(guest)}; its children now "
                    f"follow '{snap.parent or 'the base'}'")

    def deleted() -> None:
        for child in guest.snapshots.values():
            if child.parent == name:
                child.parent = snap.parent
        if guest.current_snapshot == name:
            guest.current_snapshot = snap.parent
        del guest.snapshots[name]
        finish(sim, guest, task)

    sim.after(DELETE_SECONDS, deleted)
    return task
