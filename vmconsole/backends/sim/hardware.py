"""A simulated guest's hardware, changed as on Proxmox VE with its default hotplug
(`network,disk,usb`): a running VM takes a NIC's link and a bigger disk at once, while
its cores and memory go to the pending config until its next start; a container takes
cores and memory at once (they are cgroup limits, PVE's `vmconfig_hotplug_pending` for
LXC). A stopped guest takes everything at once.
"""

from __future__ import annotations

from vmconsole.backends.base import Conflict
from vmconsole.backends.hardware import (
    DiskInfo,
    GuestHardware,
    HardwareChange,
    MiB,
    NicInfo,
    Takes,
    check,
    gib,
)
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.guards import ensure_free, ensure_not_template, ensure_quorate, label
from vmconsole.backends.sim.state import SimGuest
from vmconsole.backends.sim.tasks import TaskRecord
from vmconsole.model import GuestKind

NOT_HOTPLUGGED = "the VM's hotplug setting is network,disk,usb (Proxmox's default)"


def read(sim: Sim, guest: SimGuest) -> GuestHardware:
    """The guest's figures and limits, with its pending config."""
    node = sim.node(guest.node)
    running = sim.running_on_own_node(guest) is not None
    live = guest.kind is GuestKind.CT
    pending = tuple(f"memory: {value // MiB} MiB" if key == "memory" else f"{key}: {value}"
                    for key, value in sorted(guest.pending.items()))
    return GuestHardware(
        guest_id=guest.id, running=running,
        vcpus=guest.pending.get("cores", guest.maxcpu) if not running else guest.maxcpu,
        memory=guest.pending.get("memory", guest.maxmem) if not running else guest.maxmem,
        host_cpus=node.maxcpu, host_memory=node.maxmem,
        disks=tuple(DiskInfo(d.key, d.size, f"{d.storage}:vm-{guest.vmid}-{d.key}")
                    for d in guest.disks),
        nics=(NicInfo("net0", guest.link_up, f"virtio, bridge vmbr0, {guest.mac}"),),
        vcpus_live_max=node.maxcpu if live else None,
        memory_live_max=node.maxmem if live else None, memory_live_shrink=live,
        pending=pending, why_not_live="" if live else NOT_HOTPLUGGED)


def take_pending(guest: SimGuest) -> None:
    """A start uses the pending config (Proxmox applies it before QEMU starts)."""
    guest.maxcpu = guest.pending.pop("cores", guest.maxcpu)
    guest.maxmem = guest.pending.pop("memory", guest.maxmem)


def apply(sim: Sim, guest: SimGuest, operation: str, change: HardwareChange) -> TaskRecord:
    """One change as one task named `operation` ("vcpus", "memory", "link": Proxmox
    makes them with a synchronous `PUT .../config`, so their ids are the console's own;
    "resize" for a disk, a `qmresize`/`vzresize` task)."""
    ensure_not_template(guest, "change the hardware of")
    ensure_quorate(sim, guest.node)
    ensure_free(guest, sim)
    hw = read(sim, guest)
    check(hw, change)
    for key, size in change.disks.items():
        _check_room(sim, guest, key, size)
    task = sim.new_task(operation, guest.id, guest.node)
    running = hw.running
    if change.vcpus is not None:
        _set(guest, task, "cores", change.vcpus, hw.vcpus_takes(change.vcpus), running,
             f"{hw.vcpus} → {change.vcpus} vCPUs")
    if change.memory is not None:
        _set(guest, task, "memory", change.memory, hw.memory_takes(change.memory), running,
             f"{hw.memory // MiB} → {change.memory // MiB} MiB")
    for key, size in change.disks.items():
        disk = next(d for d in guest.disks if d.key == key)
        task.log.append(f"{label(guest)}: {key} grown from {gib(disk.size)} GiB to "
                        f"{gib(size)} GiB" + (" while running" if running else ""))
        disk.size = size
        guest.set_disks(guest.disks)
        sim.volumes_changed()
    for key, up in change.links.items():
        guest.link_up = up
        task.log.append(f"{label(guest)}: {key} link {'up' if up else 'down'}")
    sim.touch(guest.id)
    task.finish(sim.now)
    return task


def _set(guest: SimGuest, task: TaskRecord, key: str, value: int, takes: Takes,
         running: bool, what: str) -> None:
    current = guest.maxcpu if key == "cores" else guest.maxmem
    if takes is Takes.NOW:
        guest.pending.pop(key, None)
        if key == "cores":
            guest.maxcpu = value
        else:
            guest.maxmem = value
        task.log.append(f"{label(guest)}: {what}" + (", taken by the running guest"
                                                     if running else ""))
    elif value == current:
        guest.pending.pop(key, None)
        task.log.append(f"{label(guest)}: {what}: the pending change is reverted")
    else:
        guest.pending[key] = value
        task.log.append(f"{label(guest)}: {what}, pending until its next start "
                        f"({NOT_HOTPLUGGED})")


def _check_room(sim: Sim, guest: SimGuest, key: str, size: int) -> None:
    """Thick storage (LVM) must hold the growth, as `lvextend` demands."""
    disk = next(d for d in guest.disks if d.key == key)
    storage = sim.storage(disk.storage, disk.node or guest.node)
    if storage is None or storage.type != "lvm":
        return
    used = sim.usage().get((storage.name, storage.node), 0)
    growth = size - disk.size
    if used + growth > storage.total:
        raise Conflict(f"storage '{storage.name}': Insufficient free space: needs "
                       f"{gib(growth)} GiB more, {gib(storage.total - used)} GiB free")
