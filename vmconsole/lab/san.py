"""The lab's shared storage: an iSCSI target (`tgtd`, from Debian's `tgt`) in the LAN
namespace, exporting sparse files as LUNs, as the course exports a disk from its host.

Every node reaches the target over the LAN with QEMU's and libvirt's userspace
initiator (libiscsi: `qemu-block-extra`, libvirt's `iscsi-direct` pool): this kind of
machine has no configfs and no kernel modules, so the kernel initiator, LIO and LVM on
the LUN are out. tgtd runs with its own management port (`tgtadm -C`), so a system
tgtd, if any, is left alone.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

from vmconsole.lab import daemon
from vmconsole.lab.layout import (
    LAN_NS,
    PORTAL,
    SAN_IQN,
    SAN_LUN_MIB,
    SAN_LUNS,
    TEMPLATE_LUN,
    TGT_CONTROL_PORT,
    Layout,
)
from vmconsole.lab.shell import LabError, in_netns, run

TGT_RUN = Path("/run/tgtd")
START_TIMEOUT_S = 10.0
TEMPLATE_DISK_MIB = 64


def _pidfile(lab: Layout) -> Path:
    return lab.san_dir / "tgtd.pid"


def control_socket() -> Path:
    return TGT_RUN / f"socket.{TGT_CONTROL_PORT}"


def lun_file(lab: Layout, lun: int) -> Path:
    return lab.san_dir / f"lun{lun}.img"


def pid(lab: Layout) -> int | None:
    """The lab's tgtd, if its pidfile names a live tgtd."""
    try:
        found = int(_pidfile(lab).read_text().strip())
        comm = Path(f"/proc/{found}/comm").read_text().strip()
    except (OSError, ValueError):
        return None
    return found if comm == "tgtd" and daemon.alive(found) else None


def _tgtadm(*args: str) -> str:
    return run(["tgtadm", "-C", str(TGT_CONTROL_PORT), "--lld", "iscsi", *args])


def _make_luns(lab: Layout) -> None:
    """Sparse backing files; the template's LUN starts with a qcow2 disk (qemu-img writes
    the header into the file, which is then grown to the LUN's size)."""
    lab.san_dir.mkdir(parents=True, exist_ok=True)
    for lun in range(1, SAN_LUNS + 1):
        path = lun_file(lab, lun)
        if path.exists():
            continue
        if lun == TEMPLATE_LUN:
            run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), f"{TEMPLATE_DISK_MIB}M"])
        with path.open("ab") as handle:
            handle.truncate(SAN_LUN_MIB * 1024**2)


def start(lab: Layout) -> None:
    """tgtd up with the target and every LUN (idempotent: a running tgtd is kept)."""
    _make_luns(lab)
    if pid(lab) is not None:
        return
    control_socket().unlink(missing_ok=True)  # a tgtd killed earlier leaves its socket
    run(in_netns(LAN_NS, "tgtd", "-C", str(TGT_CONTROL_PORT), "-p", str(_pidfile(lab)),
                 "--iscsi", f"portal={PORTAL}:3260"))
    deadline = time.monotonic() + START_TIMEOUT_S
    while not (control_socket().exists() and pid(lab) is not None):
        if time.monotonic() > deadline:
            raise LabError(f"tgtd did not open {control_socket()} within {START_TIMEOUT_S:g} s")
        time.sleep(0.05)
    _tgtadm("--op", "new", "--mode", "target", "--tid", "1", "-T", SAN_IQN)
    for lun in range(1, SAN_LUNS + 1):
        _tgtadm("--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", str(lun),
                "-b", str(lun_file(lab, lun)))
    _tgtadm("--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL")


def usage(lab: Layout) -> tuple[int, int]:
    """(used, total) bytes of the target's LUNs: what their sparse backing files hold,
    and their sizes; the target's own figures, where libvirt counts every LUN as used."""
    used = total = 0
    for lun in range(1, SAN_LUNS + 1):
        try:
            st = lun_file(lab, lun).stat()
        except OSError:
            continue
        used, total = used + st.st_blocks * 512, total + st.st_size
    return used, total


def sessions() -> int:
    """How many initiators are logged in to the target now (tgtadm's I_T nexus list)."""
    try:
        shown = _tgtadm("--op", "show", "--mode", "target")
    except LabError:
        return 0
    return shown.count("I_T nexus: ")


def stop(lab: Layout) -> None:
    """Stop tgtd by its pid and remove its management socket and lock."""
    if (found := pid(lab)) is not None:
        daemon.terminate({found})
    _pidfile(lab).unlink(missing_ok=True)
    for path in (control_socket(), control_socket().with_name(control_socket().name + ".lock")):
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        TGT_RUN.rmdir()  # only if a system tgtd has nothing there


def leftovers() -> list[str]:
    """What of the target is still there: its management socket, a tgtd with our port."""
    left = [str(control_socket())] if control_socket().exists() else []
    found = subprocess.run(["pgrep", "-f", f"tgtd -C {TGT_CONTROL_PORT} "], capture_output=True,
                           text=True).stdout.split()
    return left + [f"tgtd pid {p}" for p in found]
