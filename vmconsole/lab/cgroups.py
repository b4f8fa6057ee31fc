"""Per-node cgroup subtrees.

`ip netns exec` remounts /sys and hides the cgroup mounts, and libvirt then fails
("cgroup CPUACCT controller is not mounted"). So each node's libvirtd starts in its own
subtree of every hierarchy (made under this process's own cgroups), enters a cgroup
namespace rooted there, and remounts the hierarchies inside its mount namespace.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True, slots=True)
class Hierarchy:
    mountpoint: Path  # /sys/fs/cgroup/cpu
    fstype: str  # cgroup or cgroup2
    options: str  # "cpu", "name=systemd", "" for cgroup2
    own: str  # this process's cgroup in it, e.g. "/process_api/abc"

    @property
    def mount_args(self) -> list[str]:
        if self.fstype == "cgroup2":
            return ["-t", "cgroup2", "cgroup2"]
        return ["-t", "cgroup", "-o", self.options, "cgroup"]


def hierarchies() -> list[Hierarchy]:
    own: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _id, controllers, path = line.split(":", 2)
        own[controllers or "unified"] = path
    out = []
    for line in Path("/proc/mounts").read_text().splitlines():
        _dev, mountpoint, fstype, options, *_ = line.split()
        if fstype not in ("cgroup", "cgroup2") or not mountpoint.startswith(str(CGROUP_ROOT)):
            continue
        if fstype == "cgroup2":
            out.append(Hierarchy(Path(mountpoint), fstype, "", own.get("unified", "/")))
            continue
        names = [o for o in options.split(",") if o not in ("rw", "ro", "relatime", "nosuid",
                                                             "nodev", "noexec")]
        key = ",".join(names)
        out.append(Hierarchy(Path(mountpoint), fstype, key, own.get(key, "/")))
    return out


def subtree(h: Hierarchy, name: str) -> Path:
    return h.mountpoint / h.own.lstrip("/") / f"vmclab-{name}"


def create(name: str) -> list[Path]:
    """The node's subtree in every hierarchy; cpuset needs its cpus and mems filled in."""
    made = []
    for h in hierarchies():
        path = subtree(h, name)
        path.mkdir(exist_ok=True)
        if "cpuset" in h.options.split(","):
            parent = path.parent
            for key in ("cpuset.cpus", "cpuset.mems"):
                (path / key).write_text((parent / key).read_text())
        made.append(path)
    return made


def procs_files(name: str) -> list[Path]:
    return [subtree(h, name) / "cgroup.procs" for h in hierarchies()]


def pids_in(name: str) -> set[int]:
    """Every process left in the node's subtrees (libvirtd, its QEMUs)."""
    pids: set[int] = set()
    for h in hierarchies():
        root = subtree(h, name)
        # os.walk, not rglob: a QEMU's cgroup vanishes as the QEMU ends, and rglob
        # raises for a folder gone between its listing and its scan.
        for folder, _dirs, _files in os.walk(root):
            with contextlib.suppress(OSError):
                pids.update(int(p) for p in (Path(folder) / "cgroup.procs").read_text().split())
    return pids


def remove(name: str) -> list[Path]:
    """Remove the node's subtrees, deepest first; what could not be removed is returned."""
    left = []
    for h in hierarchies():
        root = subtree(h, name)
        if not root.is_dir():
            continue
        inner = sorted((Path(folder) / d for folder, dirs, _f in os.walk(root) for d in dirs),
                       key=lambda p: len(p.parts), reverse=True)
        for path in [*inner, root]:
            try:
                path.rmdir()
            except OSError:
                left.append(path)
    return left


def leftovers() -> list[Path]:
    """Lab subtrees still present in any hierarchy."""
    return [p for h in hierarchies() for p in (h.mountpoint / h.own.lstrip("/")).glob("vmclab-*")]
