"""One libvirtd per node: its own state directories (bind-mounted in a private mount
namespace), hostname, host UUID, TCP listener on the node's address, and cgroups.

Started as: move into the node's cgroup subtrees, then
`ip netns exec NODE unshare -m -u -C --propagation private sh start.sh`, where the
script mounts the node's directories over libvirt's and runs `libvirtd -d --listen`.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from vmconsole.lab import cgroups
from vmconsole.lab.layout import NodeLayout
from vmconsole.lab.shell import LabError

# libvirt's directories and the node directory that replaces each.
STATE_DIRS = {"run": "/run/libvirt", "lib": "/var/lib/libvirt", "etc": "/etc/libvirt",
              "log": "/var/log/libvirt", "cache": "/var/cache/libvirt"}
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


def _libvirtd_conf(node: NodeLayout, host_uuid: str) -> str:
    return f"""# vmconsole lab node {node.name}: a loopback-only lab, no authentication
listen_tls = 0
listen_tcp = 1
listen_addr = "{node.ip}"
auth_tcp = "none"
auth_unix_rw = "none"
unix_sock_rw_perms = "0700"
host_uuid = "{host_uuid}"
keepalive_interval = 5
"""


def _qemu_conf(node: NodeLayout) -> str:
    return f"""# vmconsole lab node {node.name}
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
stdio_handler = "file"
migration_address = "{node.ip}"
migration_host = "{node.ip}"
"""


def prepare(node: NodeLayout) -> None:
    """The node's directories and config (kept across restarts: same host UUID)."""
    for sub in STATE_DIRS:
        (node.dir / sub).mkdir(parents=True, exist_ok=True)
    etc = node.dir / "etc"
    if not (etc / "libvirtd.conf").exists():
        shutil.copytree("/etc/libvirt", etc, dirs_exist_ok=True, symlinks=True)
        # The stock NAT network would add a bridge and iptables rules to every node.
        shutil.rmtree(etc / "qemu" / "networks" / "autostart", ignore_errors=True)
        (etc / "libvirtd.conf").write_text(_libvirtd_conf(node, str(uuid.uuid4())))
        (etc / "qemu.conf").write_text(_qemu_conf(node))


def _start_script(node: NodeLayout) -> str:
    lines = ["set -e", f"hostname {node.name}"]
    for sub, target in STATE_DIRS.items():
        lines.append(f"mkdir -p {target} && mount --bind {shlex.quote(str(node.dir / sub))} "
                     f"{target}")
    lines.append("mount -t tmpfs cgroups /sys/fs/cgroup")
    for h in cgroups.hierarchies():
        args = " ".join(shlex.quote(a) for a in h.mount_args)
        lines.append(f"mkdir -p {h.mountpoint} && mount {args} {h.mountpoint}")
    lines.append(f"exec libvirtd -d --listen -p {shlex.quote(str(node.pidfile))}")
    return "\n".join(lines) + "\n"


def pid_of(node: NodeLayout) -> int | None:
    """The node's libvirtd, if its pidfile names a live libvirtd."""
    try:
        pid = int(node.pidfile.read_text().strip())
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError):
        return None
    return pid if comm == "libvirtd" and alive(pid) else None


def start(node: NodeLayout) -> None:
    if pid_of(node) is not None:
        return
    cgroups.create(node.name)
    script = node.dir / "start.sh"
    script.write_text(_start_script(node))
    node.socket.unlink(missing_ok=True)
    enter = " ; ".join(f"echo $$ > {shlex.quote(str(p))}" for p in cgroups.procs_files(node.name))
    command = (f"{enter} ; exec ip netns exec {node.netns} unshare -m -u -C "
               f"--propagation private sh {shlex.quote(str(script))}")
    log = (node.dir / "start.log").open("w")
    done = subprocess.run(["sh", "-c", command], stdout=log, stderr=subprocess.STDOUT,
                          timeout=START_TIMEOUT_S)
    if done.returncode != 0:
        raise LabError(f"libvirtd of {node.name} did not start: "
                       f"{(node.dir / 'start.log').read_text().strip()}")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if node.socket.exists() and pid_of(node) is not None:
            return
        time.sleep(0.05)
    raise LabError(f"libvirtd of {node.name} did not open {node.socket} within "
                   f"{START_TIMEOUT_S:g} s (see {node.dir / 'log'})")


def stop(node: NodeLayout) -> None:
    """Stop libvirtd by its pid, then any process left in the node's cgroups (QEMUs)."""
    pid = pid_of(node)
    if pid is not None:
        terminate({pid})
    terminate(cgroups.pids_in(node.name))
    node.pidfile.unlink(missing_ok=True)


def terminate(pids: set[int]) -> None:
    """SIGTERM, then SIGKILL to whatever still runs after STOP_TIMEOUT_S."""
    pids.discard(os.getpid())
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while pids and time.monotonic() < deadline:
        pids = {p for p in pids if alive(p)}
        time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def kill_now(pids: set[int]) -> None:
    """SIGKILL, no warning: a node losing its power."""
    for pid in pids - {os.getpid()}:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent that is not ours to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def seed_capabilities(source: NodeLayout, node: NodeLayout) -> None:
    """A fresh libvirtd probes QEMU for ~8 s; the first node's cache makes it ~0.2 s."""
    caps = source.dir / "cache" / "qemu" / "capabilities"
    if caps.is_dir() and not (node.dir / "cache" / "qemu" / "capabilities").exists():
        shutil.copytree(caps, node.dir / "cache" / "qemu" / "capabilities")
