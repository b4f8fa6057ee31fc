"""A running domain's uptime, which libvirt's API does not give: the age of its
process (QEMU, or the LXC driver's libvirt_lxc), as Proxmox reports a guest's uptime
(PVE::QemuServer::vmstatus: from the QEMU process's start time, so a live migration
starts it again on the target).

The process is found through the pid file the libvirt driver keeps in its run
directory (`<run>/qemu/<name>.pid`, `<run>/lxc/<name>.pid`) and read in /proc, so only
hosts on this machine have it; for a remote host the figure is not reported, and
`unreported_why()` says why in the detail pane.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

PROC = Path("/proc")


def run_dir(uri: str) -> Path | None:
    """The libvirt run directory of a local system URI (`qemu:///system`, optionally
    with `?socket=`: the socket's directory); None for a remote or session URI, or a
    driver other than QEMU's and LXC's."""
    parts = urlsplit(uri)
    driver, _, transport = parts.scheme.partition("+")
    if driver not in ("qemu", "lxc") or parts.netloc or transport not in ("", "unix"):
        return None
    if parts.path != "/system":
        return None
    socket = parse_qs(parts.query).get("socket")
    return Path(socket[0]).parent if socket else Path("/run/libvirt")


def unreported_why(uri: str) -> str:
    """Why a host of `uri` (one `run_dir()` gives None for) has no uptime for its
    guests, in a line for the detail pane."""
    parts = urlsplit(uri)
    driver, _, transport = parts.scheme.partition("+")
    if driver not in ("qemu", "lxc"):
        return f"libvirt's {driver or uri} driver runs no process per guest to read it from"
    if parts.netloc or transport not in ("", "unix"):
        where = parts.hostname or parts.netloc or f"{transport} transport"
        return (f"libvirt's API gives none; it is the age of the guest's process, and "
                f"{where} is another machine, whose processes the console cannot see")
    return (f"libvirt's API gives none, and the pid files of a {parts.path.strip('/')} "
            "libvirtd are not read (only a system libvirtd's)")


def _boot_time() -> float:
    """When this machine booted, epoch seconds (`btime` of /proc/stat, proc(5))."""
    for line in (PROC / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


def process_start(pid: int) -> float:
    """When process `pid` started, epoch seconds: field 22 of /proc/PID/stat (clock
    ticks after boot, proc(5)). Raises OSError when there is no such process."""
    stat = (PROC / str(pid) / "stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": field 3 on
    ticks = int(fields[19])
    return _boot_time() + ticks / os.sysconf("SC_CLK_TCK")


def pid_file(run: Path, containers: bool, name: str) -> Path:
    """Where the QEMU or LXC driver keeps the pid of running domain `name`."""
    return run / ("lxc" if containers else "qemu") / f"{name}.pid"


def domain_uptime(run: Path, containers: bool, name: str, now: float) -> float | None:
    """Seconds since the process of running domain `name` started, or None when its pid
    file or process cannot be read, or the process is not that domain's (a stale pid
    file: its command line must name the domain)."""
    pidfile = pid_file(run, containers, name)
    try:
        pid = int(pidfile.read_text().strip())
        args = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
        started = process_start(pid)
    except (OSError, ValueError):
        return None
    named = name.encode()
    if not any(a == named or a.startswith(b"guest=" + named + b",") or a == b"guest=" + named
               for a in args):
        return None
    return max(0.0, now - started)
