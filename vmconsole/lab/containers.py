"""The lab's system containers: libvirt's LXC driver (the same libvirtd as the node's
VMs, reached as `lxc:///system`), a busybox root file system shared read-only by every
container and every node (like a container template's root on shared storage), the
node's `vmbr0` bridge, an address given by libvirt (`<ip>`) or leased by DHCP, and
`httpd` on port 80, so they answer ping and HTTP like the VMs."""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt

from vmconsole.backends.libvirt.metadata import NAMESPACE, GuestMeta
from vmconsole.lab.guests import domain_head
from vmconsole.lab.initramfs import UDHCPC_SCRIPT
from vmconsole.lab.layout import (
    CONTAINER_MEMORY_MIB,
    CT_TEMPLATE,
    PREFIXLEN,
    ContainerLayout,
)

CT_TEMPLATE_MAC = "52:54:00:77:ff:02"
RAM_DISK_MIB = 16  # the container's writable /tmp: the root is read-only

INIT = """#!/bin/sh
# A container's init: exit on SIGTERM (libvirt's shutdown), serve HTTP, lease an
# address when libvirt gave none (a container made from the template).
trap 'exit 0' TERM
ip link set eth0 up  # libvirt brings up only an interface it gave an address
ip -4 -o addr show eth0 | grep -q inet || udhcpc -i eth0 -q -n -t 10 -T 1 \\
  -s /bin/udhcpc.script >/dev/null 2>&1
echo "$(hostname) $(ip -4 -o addr show eth0)" > /tmp/index.html
httpd -p 80 -h /tmp
while true; do sleep 1 & wait; done
"""


def build_rootfs(dest: Path) -> None:
    """A static busybox with its applets, the init above and udhcpc's hook."""
    busybox = shutil.which("busybox")
    if busybox is None:
        raise FileNotFoundError("busybox (apt-get install busybox-static)")
    for directory in ("bin", "sbin", "proc", "sys", "dev", "tmp", "etc"):
        (dest / directory).mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, dest / "bin" / "busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        link = dest / "bin" / applet
        if applet != "busybox" and not link.is_symlink():
            os.symlink("busybox", link)
    for path, text in ((dest / "sbin" / "init", INIT),
                       (dest / "bin" / "udhcpc.script", UDHCPC_SCRIPT)):
        path.write_text(text)
        path.chmod(0o755)


def container_xml(name: str, mac: str, rootfs: Path, meta: GuestMeta,
                  ip: str | None = None) -> str:
    root = domain_head("lxc", name, CONTAINER_MEMORY_MIB, meta)
    os_el = ET.SubElement(root, "os")
    ET.SubElement(os_el, "type", {"arch": "x86_64"}).text = "exe"
    ET.SubElement(os_el, "init").text = "/sbin/init"
    devices = ET.SubElement(root, "devices")
    fs = ET.SubElement(devices, "filesystem", {"type": "mount", "accessmode": "passthrough"})
    ET.SubElement(fs, "source", {"dir": str(rootfs)})
    ET.SubElement(fs, "target", {"dir": "/"})
    ET.SubElement(fs, "readonly")
    ram = ET.SubElement(devices, "filesystem", {"type": "ram"})
    ET.SubElement(ram, "source", {"usage": str(RAM_DISK_MIB), "units": "MiB"})
    ET.SubElement(ram, "target", {"dir": "/tmp"})
    interface = ET.SubElement(devices, "interface", {"type": "bridge"})
    ET.SubElement(interface, "mac", {"address": mac})
    ET.SubElement(interface, "source", {"bridge": "vmbr0"})
    if ip:
        ET.SubElement(interface, "ip", {"address": ip, "prefix": str(PREFIXLEN)})
    ET.SubElement(devices, "console", {"type": "pty"})
    ET.register_namespace("vmc", NAMESPACE)
    return ET.tostring(root, encoding="unicode")


def _defined(conn: libvirt.virConnect, name: str) -> libvirt.virDomain | None:
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError:
        return None


def ensure_template(conn: libvirt.virConnect, rootfs: Path) -> None:
    """The container template (containers made from it lease their address)."""
    if _defined(conn, CT_TEMPLATE) is None:
        conn.defineXML(container_xml(CT_TEMPLATE, CT_TEMPLATE_MAC, rootfs,
                                     GuestMeta(template=True)))


def ensure_container(conn: libvirt.virConnect, ct: ContainerLayout, rootfs: Path) -> None:
    """Defined and running, on the node whose connection the caller passes."""
    dom = _defined(conn, ct.name)
    if dom is None:
        dom = conn.defineXML(container_xml(ct.name, ct.mac, rootfs, GuestMeta(ip=ct.ip), ct.ip))
    if not dom.isActive():
        dom.create()
