"""The guests' initramfs, built on the spot: a static busybox, the cloud kernel's virtio
network modules, and an /init that brings up eth0 with the address from the kernel
command line (`lab_ip=A.B.C.D/NN`, unless another guest already has it, or
`lab_ip=dhcp`: a lease from the LAN's DHCP server), serves HTTP on port 80 (a TCP
target), powers off when the ACPI power button is pressed (libvirt's graceful
shutdown), and keeps a shell on its serial line, ttyS0 (the kernel's console)."""

from __future__ import annotations

import io
import shutil
import stat
import subprocess
from pathlib import Path

# Load order matters: each needs the ones before it.
MODULES = ("drivers/virtio/virtio_ring", "drivers/virtio/virtio",
           "drivers/virtio/virtio_pci_legacy_dev", "drivers/virtio/virtio_pci_modern_dev",
           "drivers/virtio/virtio_pci", "net/core/failover", "drivers/net/net_failover",
           "drivers/net/virtio_net",
           # the balloon reports the guest's own memory figures (else only QEMU's RSS)
           "drivers/virtio/virtio_balloon",
           # the power button as an input device: a graceful shutdown can be seen
           "drivers/acpi/button", "drivers/input/evdev")

# udhcpc's hook: it runs this with the lease in its environment ($ip, $mask: bits).
UDHCPC_SCRIPT = """#!/bin/sh
case $1 in bound|renew) ip addr flush dev $interface; ip addr add $ip/$mask dev $interface;; esac
"""

INIT = """#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in {modules}; do insmod /lib/modules/$m.ko; done
for arg in $(cat /proc/cmdline); do
  case $arg in lab_ip=*) ip=${{arg#lab_ip=}};; lab_name=*) hostname ${{arg#lab_name=}};; esac
done
ip link set lo up
ip link set eth0 up
# The ACPI power button (libvirt's shutdown): power off at once, there is nothing to save.
for dev in /sys/class/input/event*; do
  if [ "$(cat $dev/device/name 2>/dev/null)" = "Power Button" ]; then
    (head -c 1 /dev/input/${{dev##*/}} >/dev/null; poweroff -f) &
  fi
done
if [ "$ip" = dhcp ]; then
  udhcpc -i eth0 -q -n -t 10 -T 1 -s /bin/udhcpc.script >/dev/null 2>&1 && ip=dhcp-bound
# Duplicate address detection: a clone of a lab guest keeps its kernel command line,
# and must not take the address of the guest it was cloned from.
elif [ -n "$ip" ] && arping -q -D -c 1 -w 1 -I eth0 ${{ip%/*}}; then
  ip addr add $ip dev eth0
else
  ip=
fi
if [ -n "$ip" ]; then
  mkdir -p /www && echo "$(hostname) $(ip -4 -o addr show eth0)" > /www/index.html
  httpd -p 80 -h /www
fi
echo "lab guest $(hostname) up: $(ip -4 -o addr show eth0)"
# A root shell on the serial line (the console's `C`, `virsh console`), started again
# when it exits; cttyhack makes ttyS0 its controlling terminal, so Ctrl+C works.
while true; do setsid cttyhack sh -l; sleep 1; done
"""


class _Cpio:
    """A "newc" cpio archive, the format the kernel unpacks as an initramfs."""

    def __init__(self) -> None:
        self.out = io.BytesIO()
        self.ino = 1

    def add(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        path = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(path), 0]
        self.ino += 1
        self.out.write(b"070701" + b"".join(f"{f:08x}".encode() for f in fields) + path)
        self.out.write(b"\0" * (-(110 + len(path)) % 4))
        self.out.write(data)
        self.out.write(b"\0" * (-len(data) % 4))

    def finish(self) -> bytes:
        self.add("TRAILER!!!", 0)
        return self.out.getvalue()


def build(kernel_version: str, dest: Path) -> None:
    busybox = shutil.which("busybox")
    if busybox is None:
        raise FileNotFoundError("busybox (apt-get install busybox-static)")
    archive = _Cpio()
    for directory in ("bin", "sbin", "dev", "proc", "sys", "lib", "lib/modules", "tmp", "www"):
        archive.add(directory, stat.S_IFDIR | 0o755)
    archive.add("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    archive.add("bin/busybox", stat.S_IFREG | 0o755, Path(busybox).read_bytes())
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":  # its own link would replace the binary
            archive.add(f"bin/{applet}", stat.S_IFLNK | 0o777, b"busybox")
    modules_dir = Path("/lib/modules") / kernel_version / "kernel"
    for module in MODULES:
        name = module.rsplit("/", 1)[1]
        archive.add(f"lib/modules/{name}.ko", stat.S_IFREG | 0o644,
                    (modules_dir / f"{module}.ko").read_bytes())
    archive.add("bin/udhcpc.script", stat.S_IFREG | 0o755, UDHCPC_SCRIPT.encode())
    init = INIT.format(modules=" ".join(m.rsplit("/", 1)[1] for m in MODULES))
    archive.add("init", stat.S_IFREG | 0o755, init.encode())
    dest.write_bytes(archive.finish())
