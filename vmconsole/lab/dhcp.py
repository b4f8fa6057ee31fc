"""The LAN's DHCP server (busybox `udhcpd` in the LAN namespace): guests made from the
template have no address of their own on their kernel command line, and lease one,
as guests on the course's network do."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from vmconsole.lab import daemon
from vmconsole.lab.layout import DHCP_RANGE, LAN_BRIDGE, LAN_NS, Layout
from vmconsole.lab.shell import in_netns, run


@dataclass(frozen=True, slots=True)
class Lease:
    mac: str
    ip: str


def _files(lab: Layout) -> tuple[Path, Path, Path]:
    """(config, lease file, pidfile)."""
    return (lab.san_dir / "udhcpd.conf", lab.san_dir / "udhcpd.leases",
            lab.san_dir / "udhcpd.pid")


def pid(lab: Layout) -> int | None:
    try:
        found = int(_files(lab)[2].read_text().strip())
        comm = Path(f"/proc/{found}/comm").read_text().strip()
    except (OSError, ValueError):
        return None
    return found if comm in ("udhcpd", "busybox") and daemon.alive(found) else None


def start(lab: Layout) -> None:
    """udhcpd on the LAN bridge (idempotent)."""
    if pid(lab) is not None:
        return
    conf, leases, pidfile = _files(lab)
    lab.san_dir.mkdir(parents=True, exist_ok=True)
    leases.touch()
    conf.write_text(f"start {DHCP_RANGE[0]}\nend {DHCP_RANGE[1]}\ninterface {LAN_BRIDGE}\n"
                    f"lease_file {leases}\npidfile {pidfile}\nauto_time 1\n"
                    "opt subnet 255.255.255.0\nopt lease 86400\n")
    run(in_netns(LAN_NS, "busybox", "udhcpd", str(conf)))


def leases(lab: Layout) -> list[Lease]:
    """The leases given so far (udhcpd writes its file every second: `auto_time 1`)."""
    _conf, path, _pid = _files(lab)
    if not path.exists():
        return []
    out = subprocess.run(["busybox", "dumpleases", "-f", str(path)], capture_output=True,
                         text=True).stdout.splitlines()[1:]
    return [Lease(fields[0].lower(), fields[1]) for line in out if len(fields := line.split()) >= 2]


def lease_of(lab: Layout, mac: str) -> str | None:
    """The address leased to a MAC, if any."""
    return next((lease.ip for lease in leases(lab) if lease.mac == mac.lower()), None)


def stop(lab: Layout) -> None:
    if (found := pid(lab)) is not None:
        daemon.terminate({found})
    _files(lab)[2].unlink(missing_ok=True)
