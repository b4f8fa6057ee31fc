"""Migration between the hosts of a profile: which targets are allowed and why not,
live and offline migration with progress from libvirt's job info, and the downtime
libvirt measured, read from the completed job on the destination.

The console drives a managed migration (it holds a connection to both hosts), so
every pair of URIs in a profile works, unix-socket ones included.
"""

from __future__ import annotations

import threading
import time

import libvirt

from vmconsole.backends.base import (
    BackendError,
    InvalidInput,
    MigrationMode,
    MigrationTarget,
    NotFound,
    NotSupported,
    Task,
)
from vmconsole.backends.bounded import Pending
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.libvirt import restart
from vmconsole.backends.libvirt.cluster import ClusterCore
from vmconsole.backends.libvirt.connection import Host
from vmconsole.backends.libvirt.restart import RESTART_ONLY
from vmconsole.backends.libvirt.tasks import TaskContext
from vmconsole.model import Guest, GuestKind, GuestStatus

MIGRATION_TIMEOUT_S = 3600.0
JOB_POLL_S = 0.2
MIB = 1024**2


def _local_disks(core: ClusterCore, guest: Guest) -> tuple[str, ...]:
    """The guest's disks that are not on storage every host shares."""
    host = core.host_named(guest.node)
    _host, dom = core.locate(guest.id)
    entry = core.describe(host, dom)
    shared = {s.name for s in core.last_inventory.storages_for(guest.node) if s.shared}
    if entry.storages and set(entry.storages) <= shared:
        return ()
    return tuple(f"{d.target} ({d.label})" for d in entry.desc.image_disks if not d.shareable)


def _snapshot_count(core: ClusterCore, guest: Guest) -> int:
    if guest.kind is GuestKind.CT:
        return 0  # libvirt's LXC driver has no snapshots
    host, dom = core.locate(guest.id)
    return int(host.call(lambda _c: dom.snapshotNum(0), f"counting snapshots of {guest.name}"))


def _free_memory(core: ClusterCore, node: str) -> int:
    """Memory not promised to running guests (every host of a lab shares one machine's
    memory, so the host's own free figure would count the others' guests twice)."""
    inv = core.last_inventory
    found = inv.node(node)
    if found is None:
        return 0
    used = sum(g.maxmem for g in inv.guests_on(node) if g.status is GuestStatus.RUNNING)
    return max(0, found.maxmem - used)


def migration_targets(core: ClusterCore, guest_id: str) -> list[MigrationTarget]:
    """Every node, with whether the guest may go there now and if not, why."""
    guest = core.inventory().guest(guest_id)  # current figures: a dialog is opening
    if guest is None:
        raise NotFound(f"no guest {guest_id} in {core.cfg.name}")
    local = _local_disks(core, guest)
    running = guest.status is GuestStatus.RUNNING
    copies = set(guest.duplicate.nodes) if guest.duplicate else set()
    snapshots = _snapshot_count(core, guest)
    containers = core.locate(guest_id)[0].containers
    out = []
    for host in core.hosts:
        if host.containers != containers:
            continue  # a node's other driver: its VMs, or its containers
        if host.name == guest.node:
            out.append(MigrationTarget(host.name, False, f"{guest.name} is on {host.name}"))
        elif host.name in copies:
            out.append(MigrationTarget(
                host.name, False, f"{host.name} defines another copy of {guest.name} (the "
                "same UUID): a migration there would overwrite it; undefine one copy first"))
        elif snapshots:
            # qemuMigrationSrcIsAllowed: "cannot migrate domain with N snapshots"
            out.append(MigrationTarget(
                host.name, False, f"{guest.name} has {snapshots} snapshot(s): libvirt cannot "
                "migrate a domain with snapshots (delete them first)"))
        elif not host.active:
            out.append(MigrationTarget(host.name, False,
                                       f"{host.name} is offline: {host.error or host.state}"))
        elif running and (free := _free_memory(core, host.name)) < guest.maxmem:
            out.append(MigrationTarget(
                host.name, False, f"not enough memory: {guest.name} needs "
                f"{guest.maxmem // MIB} MiB, {host.name} has {free // MIB} MiB unassigned"))
        elif guest.kind is GuestKind.CT and running:
            out.append(MigrationTarget(host.name, True, RESTART_ONLY))
        elif local and running:
            out.append(MigrationTarget(
                host.name, True, f"disk {', '.join(local)} is not on storage libvirt knows "
                "to be shared: a live migration must copy it (with local disks); a path that "
                "is shared all the same would need an unsafe migration, which the console "
                "does not do", local))
        elif local:
            out.append(MigrationTarget(
                host.name, False, f"disk {', '.join(local)} is not on shared storage and an "
                "offline migration moves only the definition: copy the disks first", local))
        else:
            out.append(MigrationTarget(host.name, True))
    return out


def migrate(core: ClusterCore, guest_id: str, node: str, mode: MigrationMode,
            with_local_disks: bool) -> Task:
    if core.locate(guest_id)[0].containers:
        choice = next((t for t in migration_targets(core, guest_id) if t.node == node), None)
        if choice is None or not choice.allowed:
            reason = choice.reason if choice else f"{node} has no container host"
            raise InvalidInput(f"cannot go to {node}: {reason}", {"node": reason})
        return restart.migrate(core, guest_id, core.host_named(node, containers=True), mode)
    if mode is MigrationMode.RESTART:
        raise NotSupported("restart mode is for containers: a libvirt VM migrates live "
                           "(running) or offline (stopped)")
    host, dom = core.locate(guest_id)
    name = dom.name()
    target = core.host_named(node, containers=False)
    running = bool(host.call(lambda _c: dom.isActive(), f"reading {name}"))
    if mode is MigrationMode.LIVE and not running:
        raise InvalidInput(f"{name} is stopped: migrate it offline", {"mode": "stopped"})
    if mode is MigrationMode.OFFLINE and running:
        raise InvalidInput(f"{name} is running: migrate it live, or stop it first",
                           {"mode": "running"})
    choice = next(t for t in migration_targets(core, guest_id) if t.node == node)
    if not choice.allowed:
        raise InvalidInput(f"{name} cannot go to {node}: {choice.reason}", {"node": choice.reason})
    if choice.local_disks and not with_local_disks:
        raise InvalidInput(f"{name} to {node}: {choice.reason}", {"with_local_disks": "needed"})
    flags = libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    if mode is MigrationMode.LIVE:
        flags |= libvirt.VIR_MIGRATE_LIVE
        if choice.local_disks:
            flags |= libvirt.VIR_MIGRATE_NON_SHARED_DISK
    else:
        flags |= libvirt.VIR_MIGRATE_OFFLINE
    dconn = target.connection()

    def work(ctx: TaskContext) -> None:
        ctx.log(f"{mode.value} migration of {name} from {host.name} to {target.name}")
        core.log.add(EventKind.MIGRATION_STARTED, f"{name}: {mode.value} migration {host.name} -> "
                     f"{target.name}", node=host.name, guest=guest_id)
        started = time.monotonic()
        done = threading.Event()
        watcher = threading.Thread(target=_watch_job, args=(ctx, host, dom, done), daemon=True)
        if mode is MigrationMode.LIVE:
            watcher.start()
        try:
            with target.hold(dconn):  # the destination's connection, used by the source's call
                host.call(lambda _c: dom.migrate3(dconn, {}, flags),
                          f"migrating {name} to {target.name}", timeout=MIGRATION_TIMEOUT_S)
        except BackendError as exc:
            core.log.add(EventKind.MIGRATION_FAILED, f"{name} stays on {host.name}: {exc.message}",
                         node=host.name, guest=guest_id)
            raise type(exc)(f"{exc.message}; {name} stays on {host.name}") from None
        finally:
            done.set()
        wall = time.monotonic() - started
        uuid = dom.UUIDString()
        core.left(host, uuid)  # VIR_MIGRATE_UNDEFINE_SOURCE
        core.defined(target, uuid)
        ctx.result.update({"from": host.name, "to": target.name, "wall_s": round(wall, 3)})
        ctx.log(f"{name} is on {target.name} after {wall:.2f} s")
        downtime = _completed_downtime(ctx, target, uuid) if mode is MigrationMode.LIVE else None
        said = f", downtime {downtime} ms (libvirt)" if downtime is not None else ""
        core.log.add(EventKind.MIGRATION_DONE, f"{name} migrated {host.name} -> {target.name} in "
                     f"{wall:.2f} s{said}", node=target.name, guest=guest_id)

    return core.tasks_book.run("migrate", guest_id, host.name, work, lock=(guest_id,))


def _watch_job(ctx: TaskContext, host: Host, dom: libvirt.virDomain,
               done: threading.Event) -> None:
    """Progress and one log line per pre-copy iteration, from the running job.

    A progress read is not a health check: QEMU under TCG can take seconds to answer
    while it migrates, and marking the host lost then would close the connection that
    migrate3 is still using (libvirt-python crashed on that). So a slow read is simply
    waited for, one at a time, and never touches the host's state.
    """
    iteration = 0
    read: Pending[dict[str, int]] | None = None
    while not done.wait(JOB_POLL_S):
        if read is None:
            read = Pending(lambda: dom.jobStats(0), f"libvirt-{host.name}-job")
        if not read.done:
            continue
        try:
            stats = read.wait(0)
        except libvirt.libvirtError:
            continue  # the job ended between two reads, or stats are not available
        finally:
            read = None
        total, processed = stats.get("data_total", 0), stats.get("data_processed", 0)
        if total:
            ctx.progress(0.95 * processed / total)
        if stats.get("memory_iteration", 0) > iteration:
            iteration = stats["memory_iteration"]
            ctx.log(f"pass {iteration}: {processed / MIB:.0f} MiB sent, "
                    f"{stats.get('data_remaining', 0) / MIB:.0f} MiB left, dirtying "
                    f"{stats.get('memory_dirty_rate', 0)} pages/s")


def _completed_downtime(ctx: TaskContext, target: Host, uuid: str) -> int | None:
    """libvirt's own measure of the pause, from the completed job on the destination."""
    try:
        stats = target.call(
            lambda c: c.lookupByUUIDString(uuid).jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED),
            "reading the completed migration job")
    except BackendError as exc:
        ctx.log(f"libvirt gave no completed-job figures: {exc.message}")
        return None
    if "downtime" not in stats:
        ctx.log("libvirt's completed job has no downtime figure")
        return None
    downtime = int(stats["downtime"])
    ctx.result["downtime_ms"] = downtime
    ctx.log(f"libvirt reports downtime {downtime} ms, {stats.get('memory_iteration', '?')} "
            f"passes, {stats.get('data_processed', 0) / MIB:.0f} MiB transferred, "
            f"job {stats.get('time_elapsed', 0)} ms")
    return downtime
