"""The lab's guests: direct-kernel-boot TCG VMs of 128 MiB on the node's `vmbr0`, a
local storage pool per node, the shared `san` pool (libvirt's iscsi-direct pool on the
LAN's iSCSI target) on every node, and a template whose small qcow2 disk is a LUN of
the target, so that guests made from it live-migrate and take snapshots with RAM."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt

from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.libvirt.metadata import NAMESPACE, GuestMeta, meta_xml
from vmconsole.lab.layout import (
    GUEST_MEMORY_MIB,
    PORTAL,
    PREFIXLEN,
    SAN_IQN,
    SAN_POOL,
    TEMPLATE,
    TEMPLATE_LUN,
    GuestLayout,
    NodeLayout,
    initiator_iqn,
)

POOL = "lab-images"
TEMPLATE_MAC = "52:54:00:77:ff:01"


def domain_head(driver: str, name: str, memory_mib: int, meta: GuestMeta) -> ET.Element:
    """A lab domain's `<domain type=driver>` with its name, memory (MiB), one vCPU and
    the console's metadata (libvirt's <metadata>, in the console's namespace)."""
    root = ET.Element("domain", {"type": driver})
    ET.SubElement(root, "name").text = name
    ET.SubElement(root, "memory", {"unit": "MiB"}).text = str(memory_mib)
    ET.SubElement(root, "vcpu").text = "1"
    if not meta.empty:
        metadata = ET.SubElement(root, "metadata")
        element = ET.fromstring(meta_xml(meta))
        for node in element.iter():
            node.tag = f"{{{NAMESPACE}}}{node.tag}"
        metadata.append(element)
    return root


def domain_xml(name: str, mac: str, kernel: Path, initrd: Path, meta: GuestMeta,
               cmdline_extra: str = "", volume: str | None = None,
               disk_format: str = "qcow2") -> str:
    root = domain_head("qemu", name, GUEST_MEMORY_MIB, meta)  # TCG: KVM does not work here
    os_el = ET.SubElement(root, "os")
    ET.SubElement(os_el, "type", {"arch": "x86_64", "machine": "pc"}).text = "hvm"
    ET.SubElement(os_el, "kernel").text = str(kernel)
    ET.SubElement(os_el, "initrd").text = str(initrd)
    ET.SubElement(os_el, "cmdline").text = (
        f"console=ttyS0 quiet panic=-1 lab_name={name} {cmdline_extra}".strip())
    # ACPI: the power button that libvirt's graceful shutdown presses
    ET.SubElement(ET.SubElement(root, "features"), "acpi")
    cpu = ET.SubElement(root, "cpu", {"mode": "custom", "match": "exact"})
    ET.SubElement(cpu, "model", {"fallback": "allow"}).text = "qemu64"
    devices = ET.SubElement(root, "devices")
    ET.SubElement(devices, "emulator").text = "/usr/bin/qemu-system-x86_64"
    if volume is not None:
        disk_el = ET.SubElement(devices, "disk", {"type": "volume", "device": "disk"})
        # cache='none': libvirt lets a disk on shared storage migrate live only without
        # the host's cache (qemuMigrationSrcIsSafe)
        ET.SubElement(disk_el, "driver", {"name": "qemu", "type": disk_format,
                                          "cache": "none"})
        ET.SubElement(disk_el, "source", {"pool": SAN_POOL, "volume": volume})
        ET.SubElement(disk_el, "target", {"dev": "vda", "bus": "virtio"})
    interface = ET.SubElement(devices, "interface", {"type": "bridge"})
    ET.SubElement(interface, "mac", {"address": mac})
    ET.SubElement(interface, "source", {"bridge": "vmbr0"})
    ET.SubElement(interface, "model", {"type": "virtio"})
    ET.SubElement(devices, "serial", {"type": "pty"})
    ET.SubElement(devices, "console", {"type": "pty"})
    balloon = ET.SubElement(devices, "memballoon", {"model": "virtio"})
    ET.SubElement(balloon, "stats", {"period": "5"})
    ET.register_namespace("vmc", NAMESPACE)
    return ET.tostring(root, encoding="unicode")


def ensure_pool(conn: libvirt.virConnect, node: NodeLayout) -> libvirt.virStoragePool:
    try:
        pool = conn.storagePoolLookupByName(POOL)
    except libvirt.libvirtError:
        node.images.mkdir(parents=True, exist_ok=True)
        xml = (f"<pool type='dir'><name>{POOL}</name><target><path>{node.images}</path>"
               "</target></pool>")
        pool = conn.storagePoolDefineXML(xml, 0)
        pool.setAutostart(1)
    if not pool.isActive():
        pool.create(0)
    return pool


def ensure_san_pool(conn: libvirt.virConnect, node: NodeLayout) -> None:
    """The iSCSI target's LUNs as libvirt's `iscsi-direct` pool, with the node's own
    initiator name (libvirt's userspace initiator: no kernel iSCSI needed)."""
    try:
        pool = conn.storagePoolLookupByName(SAN_POOL)
    except libvirt.libvirtError:
        root = ET.Element("pool", {"type": "iscsi-direct"})
        ET.SubElement(root, "name").text = SAN_POOL
        source = ET.SubElement(root, "source")
        ET.SubElement(source, "host", {"name": PORTAL})
        ET.SubElement(source, "device", {"path": SAN_IQN})
        ET.SubElement(ET.SubElement(source, "initiator"), "iqn",
                      {"name": initiator_iqn(node.name)})
        pool = conn.storagePoolDefineXML(ET.tostring(root, encoding="unicode"), 0)
        pool.setAutostart(1)
    if not pool.isActive():
        pool.create(0)


def san_volume(lun: int) -> str:
    """libvirt's name for a LUN of an iscsi-direct pool."""
    return f"unit:0:0:{lun}"


def _defined(conn: libvirt.virConnect, name: str) -> libvirt.virDomain | None:
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError:
        return None


def ensure_guest(conn: libvirt.virConnect, guest: GuestLayout, kernel: Path,
                 initrd: Path, ha_lun: int | None = None) -> None:
    """Defined and running (a lab guest is found wherever it has migrated to by the
    caller, which passes the connection of the node that has it). With `ha_lun`, a new
    guest is an HA service (request started) with a raw disk on that LUN of `san`, so
    every node can start it."""
    dom = _defined(conn, guest.name)
    if dom is None:
        meta = GuestMeta(ip=guest.ip, ha=HASettings() if ha_lun is not None else None)
        xml = domain_xml(guest.name, guest.mac, kernel, initrd, meta,
                         f"lab_ip={guest.ip}/{PREFIXLEN}",
                         volume=None if ha_lun is None else san_volume(ha_lun),
                         disk_format="raw")
        dom = conn.defineXML(xml)
    if not dom.isActive():
        dom.create()


def ensure_template(conn: libvirt.virConnect, kernel: Path, initrd: Path) -> None:
    """The template, its disk the target's first LUN; guests made from it lease an
    address by DHCP."""
    if _defined(conn, TEMPLATE) is not None:
        return
    xml = domain_xml(TEMPLATE, TEMPLATE_MAC, kernel, initrd, GuestMeta(template=True),
                     "lab_ip=dhcp", volume=san_volume(TEMPLATE_LUN))
    conn.defineXML(xml)


def find_guest(conns: dict[str, libvirt.virConnect], name: str) -> str | None:
    """The node that has a guest now (guests move between nodes)."""
    for node, conn in conns.items():
        if _defined(conn, name) is not None:
            return node
    return None


def destroy_all(conn: libvirt.virConnect) -> None:
    """Power off every guest of a node (its disks go with the node's directory)."""
    for dom in conn.listAllDomains(0):
        if dom.isActive():
            dom.destroy()
