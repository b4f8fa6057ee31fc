"""A libvirt domain's vCPUs, memory, disks and NIC links.

A running domain takes a change live (VIR_DOMAIN_AFFECT_LIVE) only inside what it was
started with: vCPUs up to its maximum (`<vcpu>`), memory up to `<memory>` through its
balloon (`<memballoon>`); beyond that the change goes to its persistent definition
(VIR_DOMAIN_AFFECT_CONFIG, with VIR_DOMAIN_VCPU_MAXIMUM / VIR_DOMAIN_MEM_MAXIMUM to
raise the ceiling) and the domain uses it from its next start. Every live change is
also written to the definition, so a restart keeps it. A running domain's disk grows
with `virDomainBlockResize` (QEMU's block_resize), a stopped one's through its storage
volume (`virStorageVolResize`); a link goes up or down with `virDomainUpdateDeviceFlags`
on the interface's `<link state>`.

Sources: libvirt's API reference (virDomainSetVcpusFlags, virDomainSetMemoryFlags,
virDomainBlockResize, virDomainUpdateDeviceFlags, virStorageVolResize) and its domain
XML format page (vcpu, memory, memballoon, interface/link).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

import libvirt

from vmconsole.backends.base import NotSupported, Task
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
from vmconsole.backends.libvirt.cluster import ClusterCore
from vmconsole.backends.libvirt.connection import Host
from vmconsole.backends.libvirt.tasks import TaskContext

LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
CONFIG = libvirt.VIR_DOMAIN_AFFECT_CONFIG
KiB = 1024


def _disks(host: Host, dom: libvirt.virDomain, root: ET.Element) -> tuple[DiskInfo, ...]:
    """The domain's disks whose capacity libvirt reports (`virDomainGetBlockInfo`); a
    disk of unknown size is left out, as the console could not tell a grow from a
    shrink."""
    where: dict[str, str] = {}
    for disk in root.findall("devices/disk[@device='disk']"):
        target = disk.find("target")
        dev = "" if target is None else target.get("dev", "")
        source = disk.find("source")
        if dev:
            where[dev] = "" if source is None else (
                source.get("file") or source.get("dev") or source.get("name")
                or source.get("volume") or "")

    def sizes(_c: libvirt.virConnect) -> dict[str, int]:
        found = {}
        for dev in where:
            try:
                found[dev] = int(dom.blockInfo(dev)[0])
            except libvirt.libvirtError:  # a network disk or LUN libvirt cannot size
                continue
        return found

    capacity = host.call(sizes, f"reading the disk sizes of {dom.name()}")
    return tuple(DiskInfo(dev, capacity[dev], where[dev]) for dev in where if dev in capacity)


def _nics(root: ET.Element) -> tuple[NicInfo, ...]:
    found = []
    for nic in root.findall("devices/interface"):
        mac = nic.find("mac")
        if mac is None or not mac.get("address"):
            continue
        model, source, link = nic.find("model"), nic.find("source"), nic.find("link")
        target = nic.find("target")
        via = None if source is None else (source.get("bridge") or source.get("network"))
        parts = (None if model is None else model.get("type"),
                 f"{nic.get('type')} {via}" if via else nic.get("type"),
                 None if target is None else target.get("dev"))
        detail = ", ".join(x for x in parts if x)
        found.append(NicInfo(mac.get("address", ""),
                             link is None or link.get("state") != "down", detail))
    return tuple(found)


def read(core: ClusterCore, guest_id: str) -> GuestHardware:
    """The domain's hardware from its live definition (its persistent one when it is
    stopped) and its host's CPUs and memory (`virNodeGetInfo`)."""
    host, dom = core.locate(guest_id)
    name = dom.name()

    def fetch(conn: libvirt.virConnect) -> tuple[bool, str, list[int], list[object]]:
        return bool(dom.isActive()), dom.XMLDesc(0), dom.info(), conn.getInfo()

    running, xml, info, node = host.call(fetch, f"reading the hardware of {name}")
    root = ET.fromstring(xml)
    max_vcpus = int(root.findtext("vcpu") or info[3])
    balloon = root.find("devices/memballoon")
    has_balloon = balloon is not None and balloon.get("model") != "none"
    why = f"it started with at most {max_vcpus} vCPUs and {int(info[1]) // KiB} MiB"
    if not has_balloon:
        why += "; without a balloon device its memory changes only at a start"
    return GuestHardware(
        guest_id=guest_id, running=running, vcpus=int(info[3]),
        memory=int(info[2]) * KiB, host_cpus=int(str(node[2])),
        host_memory=int(str(node[1])) * MiB,
        disks=_disks(host, dom, root), nics=_nics(root),
        vcpus_live_max=max_vcpus, memory_live_max=int(info[1]) * KiB if has_balloon else None,
        memory_live_shrink=True, min_memory=16 * MiB,
        why_not_live=why)


def _task(core: ClusterCore, guest_id: str, operation: str, change: HardwareChange,
          work: Callable[[TaskContext, Host, libvirt.virDomain, GuestHardware], None]) -> Task:
    """Check `change` against the domain as it is, then run `work` as a task holding
    the guest; the definition is read again once it ended."""
    hw = read(core, guest_id)
    check(hw, change)
    host, dom = core.locate(guest_id)

    def run(ctx: TaskContext) -> None:
        try:
            work(ctx, host, dom, hw)
        finally:
            core.defined(host, dom.UUIDString())

    return core.tasks_book.run(operation, guest_id, host.name, run, lock=(guest_id,))


def _said(ctx: TaskContext, hw: GuestHardware, what: str, takes: Takes) -> None:
    if not hw.running:
        ctx.log(f"{what}: written to the definition (the domain is off)")
    elif takes is Takes.NOW:
        ctx.log(f"{what}: applied to the running domain and its definition")
    else:
        ctx.log(f"{what}: written to the definition; the domain takes it at its next start "
                f"({hw.why_not_live})")


def set_vcpus(core: ClusterCore, guest_id: str, count: int) -> Task:
    def work(ctx: TaskContext, host: Host, dom: libvirt.virDomain, hw: GuestHardware) -> None:
        takes = hw.vcpus_takes(count)
        name = dom.name()
        if hw.running and takes is Takes.NOW:
            host.call(lambda _c: dom.setVcpusFlags(count, LIVE), f"setting vCPUs of {name}")
        ceiling = host.call(lambda _c: dom.vcpusFlags(
            CONFIG | libvirt.VIR_DOMAIN_VCPU_MAXIMUM), f"reading the vCPU maximum of {name}")
        if count > ceiling:
            host.call(lambda _c: dom.setVcpusFlags(count, CONFIG | libvirt.VIR_DOMAIN_VCPU_MAXIMUM),
                      f"raising the vCPU maximum of {name}")
        host.call(lambda _c: dom.setVcpusFlags(count, CONFIG), f"setting vCPUs of {name}")
        _said(ctx, hw, f"vCPUs {hw.vcpus} → {count}", takes)

    return _task(core, guest_id, "vcpus", HardwareChange(vcpus=count), work)


def set_memory(core: ClusterCore, guest_id: str, size: int) -> Task:
    kib = size // KiB

    def work(ctx: TaskContext, host: Host, dom: libvirt.virDomain, hw: GuestHardware) -> None:
        takes = hw.memory_takes(size)
        name = dom.name()
        if hw.running and takes is Takes.NOW:
            host.call(lambda _c: dom.setMemoryFlags(kib, LIVE), f"ballooning {name}")
        inactive = ET.fromstring(host.call(lambda _c: dom.XMLDesc(
            libvirt.VIR_DOMAIN_XML_INACTIVE), f"reading the definition of {name}"))
        ceiling = _kib(inactive.find("memory"))
        if kib > ceiling:
            host.call(lambda _c: dom.setMemoryFlags(kib, CONFIG | libvirt.VIR_DOMAIN_MEM_MAXIMUM),
                      f"raising the memory maximum of {name}")
        host.call(lambda _c: dom.setMemoryFlags(kib, CONFIG), f"setting the memory of {name}")
        _said(ctx, hw, f"memory {hw.memory // MiB} → {size // MiB} MiB", takes)

    return _task(core, guest_id, "memory", HardwareChange(memory=size), work)


def _kib(element: ET.Element | None) -> int:
    """A `<memory unit=...>` element in KiB (libvirt writes KiB; others are read)."""
    if element is None or not element.text:
        return 0
    scale = {"b": 1 / KiB, "bytes": 1 / KiB, "k": 1, "kib": 1, "m": KiB, "mib": KiB,
             "g": MiB, "gib": MiB}.get(element.get("unit", "KiB").lower(), 1)
    return int(int(element.text) * scale)


def grow_disk(core: ClusterCore, guest_id: str, disk: str, size: int) -> Task:
    def work(ctx: TaskContext, host: Host, dom: libvirt.virDomain, hw: GuestHardware) -> None:
        before = hw.disk(disk)
        old = gib(before.size) if before else "?"
        if hw.running:
            host.call(lambda _c: dom.blockResize(disk, size,
                                                 libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES),
                      f"growing {disk} of {dom.name()}")
            ctx.log(f"{disk} grown from {old} GiB to {gib(size)} GiB while running "
                    "(the guest sees a bigger disk; its partitions and file system are "
                    "grown inside it)")
            return
        path = before.volume if before else ""
        if not path:
            raise NotSupported(f"{disk} is not a volume libvirt can resize while the "
                               "domain is off: start it, or grow the volume on its host")
        host.call(lambda c: c.storageVolLookupByPath(path).resize(size, 0),
                  f"growing the volume {path}")
        ctx.log(f"{disk} ({path}) grown from {old} GiB to {gib(size)} GiB")

    return _task(core, guest_id, "resize", HardwareChange(disks={disk: size}), work)


def set_link(core: ClusterCore, guest_id: str, nic: str, up: bool) -> Task:
    def work(ctx: TaskContext, host: Host, dom: libvirt.virDomain, hw: GuestHardware) -> None:
        flags = (LIVE | CONFIG) if hw.running else CONFIG
        xml = host.call(lambda _c: dom.XMLDesc(0 if hw.running else
                                               libvirt.VIR_DOMAIN_XML_INACTIVE),
                        f"reading {dom.name()}")
        device = _interface(ET.fromstring(xml), nic)
        for old in device.findall("link"):
            device.remove(old)
        ET.SubElement(device, "link", state="up" if up else "down")
        host.call(lambda _c: dom.updateDeviceFlags(ET.tostring(device, encoding="unicode"),
                                                   flags),
                  f"setting the link of {nic} on {dom.name()}")
        _said(ctx, hw, f"{nic} link {'up' if up else 'down'}", Takes.NOW)

    return _task(core, guest_id, "link", HardwareChange(links={nic: up}), work)


def _interface(root: ET.Element, mac: str) -> ET.Element:
    for nic in root.findall("devices/interface"):
        found = nic.find("mac")
        if found is not None and found.get("address", "").lower() == mac.lower():
            return nic
    raise NotSupported(f"no interface with MAC address {mac}")
