"""Failures on demand: a lab node loses its power, its network or its path to the
iSCSI target, and gets it back. What a node suffers is recorded in its directory
(`fault`), so `lab status`, `lab restore` and a second console all know it.

- power: every process in the node's cgroups (its libvirtd, QEMUs) is killed at once,
  as a pulled plug would; restore boots it: libvirtd starts, its guests stay off.
- network: the node's veth goes down (its guests, migration and iSCSI traffic with
  it), and so does the console's way in: the node's socket is moved aside and its
  clients are disconnected (virt-admin), as a management network going down would.
- storage: a blackhole route to the portal inside the node: its QEMUs' iSCSI sessions
  stall, everything else runs on. libvirt's `san` pool on the node fails its next
  refresh (libvirt then stops it: the console refreshes it on every poll, and shows
  the node's storage down); restore starts the pool again, as an admin would once
  the path is back (after a network fault too: a node fenced while cut off may come
  back with the pool stopped).
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import libvirt

from vmconsole.lab import cgroups, daemon
from vmconsole.lab.layout import LAN_NS, PORTAL, SAN_POOL, NodeLayout
from vmconsole.lab.shell import LabError, run

KILL_TIMEOUT_S = 5.0
POOL_START_TIMEOUT_S = 15.0


class LabFault(StrEnum):
    POWER = "power"
    NETWORK = "network"
    STORAGE = "storage"


def _record(node: NodeLayout) -> Path:
    return node.dir / "fault"


@contextlib.contextmanager
def _exclusive(node: NodeLayout) -> Iterator[None]:
    """One change of the node's state at a time: the HA manager's fence may come while
    `lab restore` boots the node, and must not leave it dead with no fault recorded."""
    node.dir.mkdir(parents=True, exist_ok=True)  # `lab up` restores before it builds
    with (node.dir / "fault.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def current(node: NodeLayout) -> LabFault | None:
    """The fault the node suffers now, if any."""
    try:
        return LabFault(_record(node).read_text().strip())
    except (OSError, ValueError):
        return None


def _cut_socket(node: NodeLayout) -> None:
    """No new connections (the socket moved aside), and the open ones closed."""
    if node.socket.exists():
        node.socket.rename(node.socket.with_name(node.socket.name + ".cut"))
    admin = f"libvirtd:///system?socket={node.dir / 'run' / 'libvirt-admin-sock'}"
    listed = run(["virt-admin", "-c", admin, "srv-clients-list", "libvirtd"], check=False)
    for line in listed.splitlines():
        fields = line.split()
        if fields and fields[0].isdigit():
            run(["virt-admin", "-c", admin, "client-disconnect", "libvirtd", fields[0]],
                check=False)


def _kill_node(node: NodeLayout) -> None:
    deadline = time.monotonic() + KILL_TIMEOUT_S
    while (pids := cgroups.pids_in(node.name)) and time.monotonic() < deadline:
        daemon.kill_now(pids)
        time.sleep(0.02)
    if cgroups.pids_in(node.name):
        raise LabError(f"{node.name}: processes survived SIGKILL for {KILL_TIMEOUT_S:g} s")


def fail(node: NodeLayout, fault: LabFault) -> None:
    """Make the node suffer `fault`. Raises LabError if it already suffers one (restore
    it first) or its libvirtd is not running."""
    with _exclusive(node):
        if (now := current(node)) is not None:
            raise LabError(f"{node.name} has already lost its {now.value}: "
                           f"`vmconsole lab restore {node.name}` first")
        if daemon.pid_of(node) is None:
            raise LabError(f"{node.name}'s libvirtd is not running (vmconsole lab up)")
        _record(node).write_text(fault.value)
        if fault is LabFault.POWER:
            _kill_node(node)
        elif fault is LabFault.NETWORK:
            run(["ip", "-n", LAN_NS, "link", "set", node.veth, "down"])
            _cut_socket(node)
        else:
            run(["ip", "-n", node.netns, "route", "add", "blackhole", f"{PORTAL}/32"])


def fence(node: NodeLayout) -> None:
    """The HA manager's fence in the lab: the node powered off whatever else it suffers
    (a node cut from the network still runs its guests), confirmed by its cgroups
    holding no process (LabError otherwise). A node with no fault recorded has lost
    its power; `restore` brings a fenced node back powered on."""
    with _exclusive(node):
        _kill_node(node)
        if current(node) is None:
            _record(node).write_text(LabFault.POWER.value)


def restore(node: NodeLayout) -> LabFault | None:
    """Undo the node's fault; returns what it was (None: it had none). A node fenced
    while it suffered another fault is powered on too."""
    with _exclusive(node):
        fault = current(node)
        if fault is LabFault.POWER:
            daemon.start(node)
        elif fault is LabFault.NETWORK:
            run(["ip", "-n", LAN_NS, "link", "set", node.veth, "up"])
            cut = node.socket.with_name(node.socket.name + ".cut")
            if cut.exists():
                cut.rename(node.socket)
        elif fault is LabFault.STORAGE:
            run(["ip", "-n", node.netns, "route", "del", "blackhole", f"{PORTAL}/32"], check=False)
        if fault not in (None, LabFault.POWER) and daemon.pid_of(node) is None:
            daemon.start(node)  # fenced by the HA manager meanwhile
        if fault in (LabFault.NETWORK, LabFault.STORAGE):
            # its path to the target is back; a libvirtd started again above may have
            # failed to autostart the pool on a path just back (seen under load)
            _start_pool(node, SAN_POOL)
        _record(node).unlink(missing_ok=True)
        return fault


def _start_pool(node: NodeLayout, name: str) -> None:
    """Start the node's pool `name` if libvirt stopped it (`virsh pool-start`), trying
    again for up to POOL_START_TIMEOUT_S (a path just back may fail the first login).
    A node whose libvirtd is not running is left alone (the pool autostarts with it).
    Raises LabError with libvirt's last message."""
    if daemon.pid_of(node) is None:
        return
    conn = libvirt.open(node.uri)
    deadline = time.monotonic() + POOL_START_TIMEOUT_S
    try:
        pool = conn.storagePoolLookupByName(name)
        while not pool.isActive():
            try:
                pool.create(0)
            except libvirt.libvirtError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    except libvirt.libvirtError as exc:
        raise LabError(f"{node.name}: starting pool {name} again: "
                       f"{exc.get_error_message()}") from None
    finally:
        conn.close()
