"""What the lab needs from the machine, and the Debian package that provides each."""

from __future__ import annotations

import glob
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

from vmconsole.backends import install_hint


@dataclass(frozen=True, slots=True)
class Need:
    what: str
    package: str
    present: bool


def kernel_image() -> str | None:
    """The newest installed cloud kernel: its virtio drivers are modules we can load."""
    found = sorted(glob.glob("/boot/vmlinuz-*-cloud-amd64"))
    return found[-1] if found else None


def _static_busybox() -> bool:
    path = shutil.which("busybox")
    if path is None:
        return False
    return not _has_interpreter(Path(path).read_bytes())


def _has_interpreter(elf: bytes) -> bool:
    """A dynamic ELF has a PT_INTERP program header naming its loader; a static one
    does not (and only a static busybox runs inside the guests' initramfs)."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2:  # 64-bit only: the lab is x86_64
        return True
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    return any(struct.unpack_from("<I", elf, phoff + i * phentsize)[0] == 3
               for i in range(phnum))


def needs() -> list[Need]:
    # Daemons live in sbin, which a user's PATH may lack.
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])

    def tool(name: str, package: str) -> Need:
        return Need(name, package, shutil.which(name, path=search) is not None)

    return [
        tool("libvirtd", "libvirt-daemon-system"),
        tool("qemu-system-x86_64", "qemu-system-x86"),
        tool("qemu-img", "qemu-utils"),
        tool("ip", "iproute2"),
        tool("unshare", "util-linux"),
        tool("tgtd", "tgt"),
        tool("ebtables", "iptables"),  # a partition of the LAN
        Need("QEMU's iSCSI initiator (block-iscsi.so)", "qemu-block-extra",
             bool(glob.glob("/usr/lib/*/qemu/block-iscsi.so"))),
        Need("libvirt's LXC driver", "libvirt-daemon-driver-lxc",
             bool(glob.glob("/usr/lib/*/libvirt/connection-driver/libvirt_driver_lxc.so"))),
        Need("libvirt's iscsi-direct pool", "libvirt-daemon-driver-storage-iscsi-direct",
             bool(glob.glob("/usr/lib/*/libvirt/storage-backend/"
                            "libvirt_storage_backend_iscsi-direct.so"))),
        Need("a static busybox", "busybox-static", _static_busybox()),
        Need("a cloud kernel (/boot/vmlinuz-*-cloud-amd64)", "linux-image-cloud-amd64",
             kernel_image() is not None),
    ]


def problems(reading: bool = False) -> list[str]:
    """Why the lab cannot be built here (empty: it can); `reading`: only why it cannot
    even be read (`lab status` needs neither root nor the tools, but libvirt's binding)."""
    out = []
    if not reading and os.geteuid() != 0:
        out.append("the lab needs root (network namespaces, libvirtd): run it with sudo")
    missing = [] if reading else [n for n in needs() if not n.present]
    if missing:
        packages = " ".join(sorted({n.package for n in missing}))
        what = ", ".join(n.what for n in missing)
        out.append(f"missing {what}: apt-get install {packages}")
    try:
        import libvirt  # noqa: F401  (a binding that fails to load is as good as none)
    except ImportError:
        out.append(f"{install_hint('libvirt', 'libvirt')} (which builds with libvirt-dev, "
                   "pkg-config and python3-dev)")
    return out
