"""Changing a guest's hardware: its vCPUs, its memory, growing a disk, a NIC's link.

A backend that can do so offers `SupportsHardware`. `hardware()` reads what the guest
has now and what each change would take: whether the running guest takes it at once
(libvirt's AFFECT_LIVE, Proxmox's hotplug) or only from its next start (libvirt's
AFFECT_CONFIG, Proxmox's pending config). `problems()` is the one rule set for a
request, used by the form before it submits and by every backend before it calls its
API, so the user reads the same reason from both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from vmconsole.backends.base import InvalidInput, Task

MiB = 1024**2
GiB = 1024**3


class Takes(StrEnum):
    """When a change reaches the guest."""

    NOW = "now"  # the guest is stopped, or takes it while it runs
    NEXT_BOOT = "at the next start"  # written to the config; the running guest keeps the old


@dataclass(frozen=True, slots=True)
class DiskInfo:
    """A disk of the guest. `key` is the backend's name for it: "scsi0", "rootfs", "vda"."""

    key: str
    size: int  # bytes
    volume: str = ""  # where it lives, for people: "ceph:vm-100-disk-0", a path


@dataclass(frozen=True, slots=True)
class NicInfo:
    """A network interface. `key` is the backend's name for it: "net0", a MAC address."""

    key: str
    link_up: bool
    detail: str = ""  # for people: "virtio, bridge vmbr0, BC:24:11:00:01:00"


@dataclass(frozen=True, slots=True)
class GuestHardware:
    """What a guest has, and how far each figure may change.

    vCPU counts are whole CPUs, memory bytes. `vcpus_live_max` is the most vCPUs the
    running guest takes at once (libvirt: the domain's maximum; Proxmox: cores x sockets
    with `cpu` in hotplug), None when it takes no vCPU change while running;
    `memory_live_max` likewise for memory (libvirt: the balloon's ceiling, `maxMemory`),
    and `memory_live_shrink` whether it may also go down live. `host_cpus` and
    `host_memory` are the ceiling of the guest's node.
    """

    guest_id: str
    running: bool
    vcpus: int
    memory: int
    host_cpus: int
    host_memory: int
    disks: tuple[DiskInfo, ...] = ()
    nics: tuple[NicInfo, ...] = ()
    vcpus_live_max: int | None = None
    vcpus_live_shrink: bool = True
    memory_live_max: int | None = None
    memory_live_shrink: bool = False
    nic_live: bool = True
    min_memory: int = 16 * MiB
    memory_step: int = MiB  # memory is set in whole MiB (Proxmox, libvirt's KiB rounded)
    pending: tuple[str, ...] = ()  # changes written but not yet taken, for people
    why_not_live: str = ""  # why a change waits for the next start, in the backend's terms

    def disk(self, key: str) -> DiskInfo | None:
        return next((d for d in self.disks if d.key == key), None)

    def nic(self, key: str) -> NicInfo | None:
        return next((n for n in self.nics if n.key == key), None)

    def vcpus_takes(self, count: int) -> Takes:
        """When `count` vCPUs would reach the guest."""
        if not self.running:
            return Takes.NOW
        if self.vcpus_live_max is None or count > self.vcpus_live_max:
            return Takes.NEXT_BOOT
        if count < self.vcpus and not self.vcpus_live_shrink:
            return Takes.NEXT_BOOT
        return Takes.NOW

    def memory_takes(self, size: int) -> Takes:
        """When `size` bytes of memory would reach the guest."""
        if not self.running:
            return Takes.NOW
        if self.memory_live_max is None or size > self.memory_live_max:
            return Takes.NEXT_BOOT
        if size < self.memory and not self.memory_live_shrink:
            return Takes.NEXT_BOOT
        return Takes.NOW

    def link_takes(self) -> Takes:
        return Takes.NOW if not self.running or self.nic_live else Takes.NEXT_BOOT


@dataclass(frozen=True, slots=True)
class HardwareChange:
    """One change asked for; fields left None stay as they are.

    `memory` and each disk's new size are bytes; `disks` maps a disk key to its new size
    (a disk only grows); `links` maps a NIC key to up (True) or down.
    """

    vcpus: int | None = None
    memory: int | None = None
    disks: dict[str, int] = field(default_factory=dict)
    links: dict[str, bool] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.vcpus is None and self.memory is None and not self.disks and not self.links


def problems(hw: GuestHardware, change: HardwareChange) -> dict[str, str]:
    """Why each part of `change` cannot be made, by field ("vcpus", "memory",
    "disk:<key>", "link:<key>"); empty when it can.

    Rules: at least 1 vCPU and no more than the node's CPUs (libvirt and Proxmox both
    refuse more vCPUs than the host has: qemu-server's `cores`/`vcpus` checks, libvirt's
    "requested vcpus is greater than max allowable vcpus" for the host); memory at least
    `min_memory`, at most the node's memory, in whole `memory_step`s; a disk only grows
    (Proxmox: "shrinking disks is not supported"; a smaller virtual disk would cut off
    the file system's end).
    """
    found: dict[str, str] = {}
    if change.vcpus is not None and not 1 <= change.vcpus <= hw.host_cpus:
        found["vcpus"] = f"between 1 and {hw.host_cpus} (the CPUs of its node)"
    if change.memory is not None:
        if change.memory < hw.min_memory:
            found["memory"] = f"at least {hw.min_memory // MiB} MiB"
        elif change.memory > hw.host_memory:
            found["memory"] = (f"at most {hw.host_memory // MiB} MiB (the memory of its "
                               "node)")
        elif change.memory % hw.memory_step:
            found["memory"] = f"a whole number of {hw.memory_step // MiB} MiB"
    for key, size in change.disks.items():
        disk = hw.disk(key)
        if disk is None:
            found[f"disk:{key}"] = f"no disk {key}"
        elif size < disk.size:
            found[f"disk:{key}"] = (f"a disk only grows: {key} has {gib(disk.size)} GiB; "
                                    "shrinking would cut off the end of its file system")
    for key in change.links:
        if hw.nic(key) is None:
            found[f"link:{key}"] = f"no network interface {key}"
    return found


def check(hw: GuestHardware, change: HardwareChange) -> None:
    """Raise InvalidInput naming each field `problems()` refuses, before any API call."""
    if found := problems(hw, change):
        raise InvalidInput("; ".join(found.values()), found)


def gib(size: int) -> str:
    """Bytes as GiB for people: "8", "8.5", "0.25"."""
    return f"{size / GiB:.2f}".rstrip("0").rstrip(".")


@runtime_checkable
class SupportsHardware(Protocol):
    """A guest's vCPUs, memory, disks and NIC links can be changed (each one a task,
    whose log says whether the guest took it now or takes it at its next start)."""

    def hardware(self, guest_id: str) -> GuestHardware:
        """What the guest has now. Raises NotFound, Unreachable, BackendError."""
        ...

    def set_vcpus(self, guest_id: str, count: int) -> Task:
        """Give the guest `count` vCPUs. Raises InvalidInput with problems()'s reasons."""
        ...

    def set_memory(self, guest_id: str, size: int) -> Task:
        """Give the guest `size` bytes of memory."""
        ...

    def grow_disk(self, guest_id: str, disk: str, size: int) -> Task:
        """Grow disk `disk` to `size` bytes; never shrinks (InvalidInput)."""
        ...

    def set_link(self, guest_id: str, nic: str, up: bool) -> Task:
        """Set the link of NIC `nic` up or down, as if its cable were plugged or pulled."""
        ...
