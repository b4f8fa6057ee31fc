"""`vmconsole ha run`: one manager per libvirt cluster of a profile that has an `ha`
table, each in its own thread, in the foreground until SIGTERM or Ctrl+C.

Only one manager may act for a cluster on this machine: each holds an exclusive
`flock` on `<status file>.lock` while it runs (released by the kernel when it dies, so
a crashed manager never blocks the next one). Two managers on two machines are not
prevented: run one, under systemd (docs/ha.md has a unit).
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import IO

from vmconsole.audit import AuditLog
from vmconsole.backends.libvirt import LibvirtBackend
from vmconsole.config import HAManagerConfig, LibvirtCluster
from vmconsole.ha.fencing import CommandFence, Fence, LabFence
from vmconsole.ha.journal import Journal
from vmconsole.ha.manager import Manager
from vmconsole.ha.status import default_status_path

#: The manager waits this long for a node's answer before it counts the node lost
#: (libvirt's keepalive, 5 s x 3, finds a silent peer as late): a busy libvirtd, whose
#: guests' statistics come late while TCG boots one, is not a lost node. A node that
#: dies closes its connection, and is lost at once.
READ_TIMEOUT_S = 15.0


class HAError(Exception):
    """The manager cannot start (a profile without an HA cluster, a second manager)."""


def status_path(cluster: LibvirtCluster) -> Path:
    """Where the cluster's manager writes its status (its `ha.status_file`, or the
    default beside the audit log)."""
    ha = cluster.ha
    if ha is not None and ha.status_file:
        return Path(ha.status_file).expanduser()
    return default_status_path(cluster.name)


def ha_clusters(clusters: tuple[object, ...]) -> list[LibvirtCluster]:
    """The libvirt clusters with an `ha` table. Raises HAError naming the libvirt ones
    without one (a manager that cannot fence must not run), or if there is none."""
    libvirt_ones = [c for c in clusters if isinstance(c, LibvirtCluster)]
    missing = [c.name for c in libvirt_ones if c.ha is None]
    if missing:
        raise HAError(f"libvirt cluster(s) {', '.join(missing)} have no `ha` table: add one "
                      "with its fence_command (README, \"HA on plain libvirt\")")
    if not libvirt_ones:
        raise HAError("the profile has no libvirt cluster: Proxmox VE and vCenter bring "
                      "their own HA managers")
    return libvirt_ones


def fence_for(cluster: LibvirtCluster, ha: HAManagerConfig) -> Fence:
    if ha.fence == "lab":
        if not cluster.lab_dir:
            raise HAError(f"{cluster.name}: fence = \"lab\" works only on `vmconsole lab`'s "
                          "cluster (its profile names lab_dir)")
        return LabFence(Path(cluster.lab_dir))
    return CommandFence(ha.fence_command, ha.fence_timeout)


def lock(path: Path) -> IO[str]:
    """The cluster's manager lock; HAError if another manager holds it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = open(path.with_name(path.name + ".lock"), "a+", encoding="utf-8")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise HAError(f"a manager already runs for this cluster (pid {holder}; its lock is "
                      f"{handle.name})") from None
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def run(clusters: list[LibvirtCluster], say: Callable[[str], None],
        stop: threading.Event | None = None) -> None:
    """Run a manager per cluster until `stop` is set (or SIGTERM/SIGINT in the main
    thread). Raises HAError before anything runs if one cannot start."""
    stop = stop or threading.Event()
    locks, managers = [], []
    try:
        for cluster in clusters:
            assert cluster.ha is not None
            path = status_path(cluster)
            locks.append(lock(path))
            fence = fence_for(cluster, cluster.ha)
            journal = Journal(cluster.name, AuditLog(), say)
            # ha=None: the manager reads the hosts, not its own status file
            backend = LibvirtBackend(replace(cluster, ha=None, timeout=max(cluster.timeout,
                                                                           READ_TIMEOUT_S)))
            managers.append(Manager(backend, cluster.ha, fence, journal, path))
            say(f"HA manager for {cluster.name}: round {cluster.ha.round:g} s, fence delay "
                f"{cluster.ha.fence_delay:g} s, lock lease {cluster.ha.lock_lease:g} s, "
                f"fencing by {fence.method}; status in {path}")
        # The handler only notes the signal: Event.set() takes the Event's lock, which
        # the main thread may hold when the signal arrives (inside Event.wait), and the
        # daemon then never ended on SIGTERM.
        asked: list[int] = []
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda signum, _f: asked.append(signum))
        threads = [threading.Thread(target=m.run, args=(stop,), name=f"ha-{m.backend.name}",
                                    daemon=True) for m in managers]
        for thread in threads:
            thread.start()
        while not asked and not stop.is_set():
            time.sleep(0.2)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        for manager in managers:
            manager.backend.close()
        for handle in locks:
            handle.close()
    say("HA manager stopped")
