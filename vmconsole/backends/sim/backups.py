"""Backups as vzdump makes them: a backup reads what the guest's disks hold and writes
it, compressed, to a storage whose content includes `backup` (each node's `local`),
at the slower of the two storages' speeds, like a full clone; a restore writes the
disks back at the target storage's speed. Mode `stop` shuts the guest down for the copy
and starts it again after; `suspend` pauses it (it answers no probe meanwhile);
`snapshot` leaves it running."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from vmconsole.backends.backups import (
    Backup,
    BackupMode,
    BackupOptions,
    BackupSpec,
    Compression,
    RestoreSpec,
    check,
    check_restore,
)
from vmconsole.backends.base import Conflict, NotFound, TaskStatus
from vmconsole.backends.sim.clones import free_ip, free_vmid
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.guards import (
    begin,
    ensure_not_template,
    ensure_quorate,
    label,
    release,
)
from vmconsole.backends.sim.lab import new_mac, new_uuid
from vmconsole.backends.sim.power import off_after, power_on
from vmconsole.backends.sim.state import GiB, MiB, SimDisk, SimGuest
from vmconsole.backends.sim.tasks import TaskRecord
from vmconsole.model import GuestKind

# What each compression leaves of the data (a typical Linux guest), and how fast it
# compresses on one node (gzip is single-threaded unless pigz is set).
RATIO = {Compression.ZSTD: 0.45, Compression.LZO: 0.6, Compression.GZIP: 0.5,
         Compression.NONE: 1.0}
SPEED_CAP = {Compression.ZSTD: 1000 * MiB, Compression.LZO: 1000 * MiB,
             Compression.GZIP: 60 * MiB, Compression.NONE: 10_000 * MiB}
EXTENSION = {Compression.ZSTD: ".zst", Compression.LZO: ".lzo", Compression.GZIP: ".gz",
             Compression.NONE: ""}
DELETE_SECONDS = 0.5
STOPWAIT = 600.0  # vzdump's `stopwait`: 10 minutes for the guest to shut down


@dataclass(slots=True)
class SimBackup:
    """One archive on a storage, with the guest's config as it was backed up."""

    volid: str
    guest_id: str
    storage: str
    node: str | None  # local storage: its node
    created: float
    size: int
    mode: str  # vzdump's mode and compression words
    compression: str
    kind: GuestKind
    name: str
    maxcpu: int
    maxmem: int
    disks: tuple[tuple[str, str, int], ...]  # (key, storage, size bytes)
    disk_used_fraction: float
    tags: tuple[str, ...]
    description: str


def _storages(sim: Sim, node: str) -> tuple[str, ...]:
    return tuple(s.name for s in sim.storages if "backup" in s.content
                 and s.node in (None, node))


def options(sim: Sim, guest: SimGuest) -> BackupOptions:
    """What a backup of `guest` may be: every vzdump mode and compression, the
    backup storages its node sees."""
    why_not = f"{label(guest)} is a template: clone it first" if guest.template else ""
    running = sim.running_on_own_node(guest) is not None
    return BackupOptions(
        modes=tuple(BackupMode), compressions=tuple(Compression),
        storages=_storages(sim, guest.node), next_id=free_vmid(sim), why_not=why_not,
        restore_storages=tuple(s.name for s in sim.storages if s.node in (None, guest.node)
                               and ("rootdir" if guest.kind is GuestKind.CT else "images")
                               in s.content),
        restore_overwrite_why_not=(f"{label(guest)} is running: stop it first (a restore "
                                   "over a guest needs it stopped)" if running else ""))


def listing(sim: Sim, guest: SimGuest) -> list[Backup]:
    """The guest's backups, newest first."""
    return [Backup(b.volid, b.guest_id, b.storage, b.node, b.created, b.size, b.mode,
                   b.compression)
            for b in sorted(sim.backups.values(), key=lambda b: -b.created)
            if b.guest_id == guest.id]


def _used(guest: SimGuest) -> int:
    return int(guest.disk_bytes * guest.disk_used_fraction)


def _fmt(size: float) -> str:
    return f"{size / GiB:.2f} GiB"


def _progress(sim: Sim, task: TaskRecord, start: float, seconds: float, total: int,
              step: Callable[[], None]) -> None:
    """Log ten steps of a copy of `total` bytes over `seconds`, from `start`; `step`
    at the end, unless the task ended meanwhile."""
    task.progress_at = lambda now: (now - task.started) / (start - task.started + seconds)
    for tenth in range(1, 11):
        def logged(tenth: int = tenth) -> None:
            if task.status.done:
                return
            task.log.append(f"INFO: {tenth * 10}% ({_fmt(total * tenth / 10)} of "
                            f"{_fmt(total)})")
            if tenth == 10:
                step()
        sim.at(start + seconds * tenth / 10, logged)


def backup(sim: Sim, guest: SimGuest, spec: BackupSpec) -> TaskRecord:
    """Start a vzdump of `guest`: lock `backup`, copy, then the archive appears."""
    ensure_not_template(guest, "back up")
    check(options(sim, guest), spec)
    target = sim.storage(spec.storage, guest.node)
    assert target is not None  # check() saw it among the node's storages
    node = guest.node
    inst = sim.running_on_own_node(guest)
    task = begin(sim, guest, "backup", "backup")
    used = _used(guest)
    size = int(used * RATIO[spec.compression])
    sources = [s for s in sim.storages if s.name in guest.storages]
    speed = min([target.write_speed, SPEED_CAP[spec.compression]]
                + [s.write_speed for s in sources])
    seconds = used / speed
    created = sim.now
    stamp = datetime.fromtimestamp(created, UTC).strftime("%Y_%m_%d-%H_%M_%S")
    kind = "qemu" if guest.kind is GuestKind.VM else "lxc"
    archive = "vma" if guest.kind is GuestKind.VM else "tar"
    volid = (f"{spec.storage}:backup/vzdump-{kind}-{guest.vmid}-{stamp}.{archive}"
             f"{EXTENSION[spec.compression]}")
    task.log += [f"INFO: starting new backup job: vzdump {guest.vmid} --mode {spec.mode} "
                 f"--storage {spec.storage} --compress {spec.compression}",
                 f"INFO: Starting Backup of {label(guest)}",
                 f"INFO: creating archive '{volid}'",
                 f"INFO: {_fmt(used)} of data at {speed / MiB:.0f} MiB/s "
                 f"(about {seconds:.0f} s)"]
    pause = 0.0
    if inst is not None and spec.mode is BackupMode.STOP:
        # vzdump's stop_vm: `qm shutdown --timeout <stopwait>`; a guest that ignores
        # ACPI fails the backup when the wait runs out.
        needed = off_after(guest, inst, sim.now)
        pause = min(needed, STOPWAIT)
        task.log.append(f"INFO: stopping {label(guest)} for the backup (mode stop)")

        def off() -> None:
            if needed > STOPWAIT:
                finished("VM quit/powerdown failed - got timeout", restart=False)
            elif sim.nodes[node].instances.get(guest.id) is inst:
                sim.end_instance(guest.id, node)
        sim.after(pause, off)
    elif inst is not None and spec.mode is BackupMode.SUSPEND:
        task.log.append(f"INFO: suspending {label(guest)} for the copy (mode suspend)")
        inst.paused = True
        sim.touch(guest.id)

    def finished(error: str | None = None, restart: bool = True) -> None:
        if task.status.done:
            return
        if inst is not None and spec.mode is BackupMode.SUSPEND and not inst.incoming:
            inst.paused = False
            sim.touch(guest.id)
            task.log.append(f"INFO: resuming {label(guest)}")
        if (restart and inst is not None and spec.mode is BackupMode.STOP
                and sim.nodes[node].alive):
            power_on(sim, guest, node)
            task.log.append(f"INFO: starting {label(guest)} again")
        release(sim, guest, task)
        if error is None:
            sim.backups[volid] = SimBackup(
                volid, guest.id, spec.storage, target.node, created, size, spec.mode,
                spec.compression, guest.kind, guest.name, guest.maxcpu, guest.maxmem,
                tuple((d.key, d.storage, d.size) for d in guest.disks),
                guest.disk_used_fraction, guest.tags, guest.description)
            sim.volumes_changed()
            task.log.append(f"INFO: archive file size: {_fmt(size)}")
            task.log.append(f"INFO: Finished Backup of {label(guest)}")
            task.result.update(backup=volid, size=size)
        task.finish(sim.now, TaskStatus.ERROR if error else TaskStatus.OK, error)

    def copied() -> None:
        if not sim.nodes[node].alive:
            finished(f"node '{node}' went down")
        else:
            finished()

    _progress(sim, task, sim.now + pause, seconds, used, copied)
    return task


def _find(sim: Sim, guest: SimGuest, volid: str) -> SimBackup:
    found = sim.backups.get(volid)
    if found is None or found.guest_id != guest.id:
        raise NotFound(f"{label(guest)} has no backup '{volid}'")
    return found


def restore(sim: Sim, guest: SimGuest, spec: RestoreSpec) -> TaskRecord:
    """Restore a backup to a new guest, or over `guest` (stopped)."""
    found = _find(sim, guest, spec.backup)
    taken = frozenset(g.vmid for g in sim.guests.values())
    check_restore(options(sim, guest), spec, taken)
    if spec.overwrite:
        ensure_not_template(guest, "restore over")
        task = begin(sim, guest, "restore", "create")
        target = guest
    else:
        ensure_quorate(sim, guest.node)
        vmid = spec.vmid
        assert vmid is not None  # check_restore() asked for it
        if any(g.vmid == vmid for g in sim.guests.values()):
            raise Conflict(f"VM {vmid} already exists")
        target = SimGuest(
            id=f"{found.kind.value}/{vmid}", vmid=vmid, name=found.name, kind=found.kind,
            node=guest.node, maxcpu=found.maxcpu, maxmem=found.maxmem,
            disks=[SimDisk(k, spec.storage or s, size,
                           None if sim.is_shared(spec.storage or s) else guest.node)
                   for k, s, size in found.disks],
            ip=free_ip(sim), mac=new_mac(sim.rng), uuid_number=new_uuid(sim.rng),
            load_index=len(sim.guests) + 10_000, tags=found.tags, lock="create",
            disk_used_fraction=found.disk_used_fraction, description=found.description)
        sim.guests[target.id] = target
        sim.volumes_changed()
        task = sim.new_task("restore", target.id, target.node)
        target.busy = task.id
        sim.touch(target.id)
    used = int(sum(size for _k, _s, size in found.disks) * found.disk_used_fraction)
    speed = min(s.write_speed for s in sim.storages
                if s.name in {st for _k, st, _size in found.disks} | {found.storage})
    seconds = used / speed
    task.log += [f"restore archive: {found.volid}",
                 f"{'over' if spec.overwrite else 'to new'} {label(target)}: {_fmt(used)} "
                 f"at {speed / MiB:.0f} MiB/s (about {seconds:.0f} s)"]
    task.result.update(new_id=target.id, vmid=target.vmid)

    def written() -> None:
        if not sim.nodes[target.node].alive:
            task.log.append(f"restore failed: node '{target.node}' went down")
            if not spec.overwrite:
                sim.guests.pop(target.id, None)
                sim.volumes_changed()
                sim.touch(target.id)
            release(sim, target, task)
            task.finish(sim.now, TaskStatus.ERROR, f"node '{target.node}' went down")
            return
        if spec.overwrite:
            target.maxcpu, target.maxmem = found.maxcpu, found.maxmem
            target.set_disks([SimDisk(k, spec.storage or s, size,
                                      None if sim.is_shared(spec.storage or s) else target.node)
                              for k, s, size in found.disks])
            target.snapshots.clear()
            target.current_snapshot = None
            sim.volumes_changed()
        release(sim, target, task)
        task.finish(sim.now)

    _progress(sim, task, sim.now, seconds, used, written)
    return task


def delete(sim: Sim, guest: SimGuest, volid: str) -> TaskRecord:
    """Remove one backup archive (Proxmox's `imgdel` task)."""
    found = _find(sim, guest, volid)
    task = sim.new_task("delbackup", guest.id, guest.node)
    task.log.append(f"removing {found.volid}")
    task.progress_at = lambda now: (now - task.started) / DELETE_SECONDS

    def removed() -> None:
        sim.backups.pop(volid, None)
        sim.volumes_changed()
        task.finish(sim.now)

    sim.after(DELETE_SECONDS, removed)
    return task
