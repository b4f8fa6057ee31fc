"""Backups of a libvirt guest with libvirt's backup API, and restores that define a new
guest from one.

A backup is a push-mode full backup (`virDomainBackupBegin` with a `<domainbackup
mode='push'>`): QEMU copies each of the running guest's disks, while it runs, to a
qcow2 file in a directory pool of its host. Progress is the backup job's
`data_processed`/`data_total` (`virDomainGetJobStats`); its end is read with
`VIR_DOMAIN_JOB_STATS_COMPLETED`. Next to the disk files the guest's definition is kept
as a volume of its own, so a restore can define a new guest (a new name, UUID and MACs)
on copies of the files. Names in the pool: `<uuid>.<stamp>.<disk>.qcow2` (or
`<disk>.zstd.qcow2` when compressed) and `<uuid>.<stamp>.domain.xml`; a backup's id is
`<pool>:<uuid>.<stamp>`.

A compressed backup is pushed to a file of its own, then rewritten with zstd-compressed
qcow2 clusters by qemu-img (`compress.py`: libvirt has no compression option). A
restore over the guest is `restore_over.py`.

Sources: libvirt's formatbackup.html (the push mode XML), the virDomainBackupBegin and
virDomainGetJobStats API docs. libvirt backs up a running QEMU guest only.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import libvirt

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
from vmconsole.backends.base import BackendError, NotFound, Task
from vmconsole.backends.libvirt.clone import COPY_TIMEOUT_S, check_name
from vmconsole.backends.libvirt.cluster import ClusterCore, guest_id_of
from vmconsole.backends.libvirt.compress import can_compress, compress
from vmconsole.backends.libvirt.connection import Host
from vmconsole.backends.libvirt.domainxml import NewDisk, clone_definition, new_mac, parse_domain
from vmconsole.backends.libvirt.removal import snapshot_names
from vmconsole.backends.libvirt.tasks import TaskContext

FILE_POOL_TYPES = frozenset({"dir", "fs", "netfs"})
POLL_S = 0.5
DOMAIN = "domain.xml"
STAMP = "%Y%m%dT%H%M%S"


def _file_pools(host: Host) -> dict[str, str]:
    """The host's active file pools by name, with their directory."""
    def read(conn: libvirt.virConnect) -> dict[str, str]:
        found = {}
        for pool in conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
            root = ET.fromstring(pool.XMLDesc(0))
            path = root.findtext("target/path")
            if root.get("type") in FILE_POOL_TYPES and path:
                found[pool.name()] = path
        return found
    return host.call(read, "reading the host's pools")


def options(core: ClusterCore, guest_id: str) -> BackupOptions:
    """A live push backup to any file pool of the guest's host, as qcow2, its clusters
    compressed with zstd where qemu-img can run on the file (`compress.can_compress`);
    restores define a new guest by name, or replace the disks of the guest, shut off
    and without snapshots (`restore.over`)."""
    host, dom = core.locate(guest_id)
    name = dom.name()
    running, snapshots = host.call(
        lambda _c: (bool(dom.isActive()), len(snapshot_names(dom))), f"reading {name}")
    return BackupOptions(
        modes=(BackupMode.SNAPSHOT,),
        compressions=(Compression.NONE,) + (
            () if can_compress(host.uri) else (Compression.ZSTD,)),
        storages=tuple(sorted(_file_pools(host))), restore_ids=False, restore_names=True,
        restore_overwrite_why_not=(
            f"{name} is running: shut it down first, its disks are replaced" if running else
            f"{name} has {snapshots} snapshot(s), which live in its disks: delete them, or "
            "restore to a new guest" if snapshots else ""),
        restore_overwrite_effect=(
            "Its disks are replaced by copies of the backup's; its name, UUID, MACs and "
            "settings stay. Every change written to its disks since the backup is lost; "
            "the old disks are deleted where they are its own alone."),
        why_not=_why_no_backup(host, name, running))


def _why_no_backup(host: Host, name: str, running: bool) -> str:
    """Why no backup of the guest can be taken now ("": one can). Only QEMU's driver
    implements the backup API: the test driver (`test:///`) and LXC's refused every
    backup with "not supported by the connection driver: virDomainBackupBegin", after
    the form had offered it; their backups can still be listed and restored."""
    if host.driver != "qemu":
        return (f"{host.driver} hosts take no backups: libvirt's backup API "
                "(virDomainBackupBegin) is QEMU's only")
    return "" if running else (f"{name} is stopped: libvirt's backup API "
                               "(virDomainBackupBegin) backs up a running guest only")


def disk_target(prefix: str, name: str) -> tuple[str, str]:
    """A backup file's disk target and compression: "<prefix>.vda.qcow2" is ("vda",
    "none"), "<prefix>.vda.zstd.qcow2" ("vda", "zstd")."""
    target, _, compression = name[len(prefix) + 1: -len(".qcow2")].partition(".")
    return target, compression or str(Compression.NONE)


def disk_files(volumes: list[tuple[str, int]], prefix: str) -> list[str]:
    """The names of a backup's disk files among a pool's volumes."""
    return [n for n, _s in volumes if n.startswith(f"{prefix}.") and n.endswith(".qcow2")]


def pool_volumes(host: Host, pool: str) -> list[tuple[str, int]]:
    """(name, bytes allocated) of every volume of the pool, after a refresh."""
    def read(conn: libvirt.virConnect) -> list[tuple[str, int]]:
        found = conn.storagePoolLookupByName(pool)
        found.refresh(0)
        return [(v.name(), int(v.info()[2])) for v in found.listAllVolumes(0)]
    return host.call(read, f"reading pool {pool}")


def listing(core: ClusterCore, guest_id: str) -> list[Backup]:
    """The guest's backups in the file pools of its host, newest first."""
    host, dom = core.locate(guest_id)
    uuid = dom.UUIDString()
    found: list[Backup] = []
    for pool in sorted(_file_pools(host)):
        volumes = pool_volumes(host, pool)
        for name, _size in volumes:
            if not (name.startswith(f"{uuid}.") and name.endswith(f".{DOMAIN}")):
                continue
            prefix = name[: -len(DOMAIN) - 1]
            stamp = prefix[len(uuid) + 1:]
            created = datetime.strptime(stamp, STAMP).replace(tzinfo=UTC).timestamp()
            size = sum(s for n, s in volumes if n.startswith(f"{prefix}.") and n != name)
            compressions = {disk_target(prefix, n)[1] for n in disk_files(volumes, prefix)}
            found.append(Backup(f"{pool}:{prefix}", guest_id, pool, host.name, created,
                                size, str(BackupMode.SNAPSHOT),
                                ", ".join(sorted(compressions)) or str(Compression.NONE)))
    return sorted(found, key=lambda b: -b.created)


def backup_xml(targets: dict[str, str]) -> str:
    """A push-mode `<domainbackup>` copying each disk (by target) to a qcow2 file."""
    root = ET.Element("domainbackup", {"mode": "push"})
    disks = ET.SubElement(root, "disks")
    for target, path in targets.items():
        disk = ET.SubElement(disks, "disk", {"name": target, "backup": "yes", "type": "file"})
        ET.SubElement(disk, "driver", {"type": "qcow2"})
        ET.SubElement(disk, "target", {"file": path})
    return ET.tostring(root, encoding="unicode")


def _upload(host: Host, pool: str, name: str, data: bytes) -> None:
    def write(conn: libvirt.virConnect) -> None:
        store = conn.storagePoolLookupByName(pool)
        vol = store.createXML(f"<volume><name>{name}</name><capacity unit='bytes'>"
                              f"{len(data)}</capacity><target><format type='raw'/></target>"
                              "</volume>", 0)
        stream = conn.newStream(0)
        vol.upload(stream, 0, len(data), 0)
        stream.send(data)
        stream.finish()
    host.call(write, f"writing {name} to pool {pool}")


def backup(core: ClusterCore, guest_id: str, spec: BackupSpec) -> Task:
    """Start a push backup of every disk of the running guest."""
    check(options(core, guest_id), spec)
    host, dom = core.locate(guest_id)
    xml = host.call(lambda _c: dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE),
                    f"reading {dom.name()}")
    disks = parse_domain(xml).image_disks
    if not disks:
        raise BackendError(f"{dom.name()} has no disk to back up")
    directory = _file_pools(host)[spec.storage]
    prefix = f"{dom.UUIDString()}.{datetime.now(UTC).strftime(STAMP)}."
    compressed = spec.compression is Compression.ZSTD
    # A compressed backup is pushed to a file of its own first, then rewritten.
    pushed = ".push.qcow2" if compressed else ".qcow2"
    targets = {d.target: f"{directory}/{prefix}{d.target}{pushed}" for d in disks}

    def work(ctx: TaskContext) -> None:
        ctx.log(f"push backup of {dom.name()} ({', '.join(targets)}) to pool {spec.storage}")
        try:
            push(ctx)
        except Exception:
            # A failed job leaves partial files: nothing half-made stays in the pool.
            for name in remove_volumes(host, spec.storage, lambda n: n.startswith(prefix)):
                ctx.log(f"removed the partial {name}")
            raise

    share = 0.5 if compressed else 1.0  # of the progress bar, for the push

    def shrink(ctx: TaskContext) -> None:
        for done, (target, path) in enumerate(targets.items()):
            ctx.log(f"compressing {target} (qcow2 clusters, zstd)")
            small = f"{prefix}{target}.{Compression.ZSTD}.qcow2"

            def step(fraction: float, done: int = done) -> None:
                ctx.progress(share + (done + fraction) / len(targets) * (1 - share))

            compress(path, f"{directory}/{small}", step, COPY_TIMEOUT_S)
            remove_volumes(host, spec.storage,
                           frozenset({f"{prefix}{target}{pushed}"}).__contains__)
            sizes = dict(pool_volumes(host, spec.storage))
            ctx.log(f"{target}: {sizes.get(small, 0) / 2**20:.0f} MiB compressed")

    def push(ctx: TaskContext) -> None:
        host.call(lambda _c: dom.backupBegin(backup_xml(targets), None, 0),
                  f"starting the backup of {dom.name()}")
        while True:
            stats = host.call(lambda _c: dom.jobStats(0), f"reading {dom.name()}'s job")
            if stats.get("type", libvirt.VIR_DOMAIN_JOB_NONE) == libvirt.VIR_DOMAIN_JOB_NONE:
                break
            total = stats.get("data_total") or 0
            if total:
                ctx.progress(stats.get("data_processed", 0) / total * share)
            time.sleep(POLL_S)
        ended = host.call(lambda _c: dom.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED),
                          f"reading {dom.name()}'s finished job")
        if ended.get("type") != libvirt.VIR_DOMAIN_JOB_COMPLETED:
            raise BackendError(f"the backup of {dom.name()} failed: "
                               f"{ended.get('errmsg') or 'libvirt gives no reason'}")
        ctx.log(f"copied {ended.get('data_processed', 0) / 2**20:.0f} MiB")
        if compressed:
            shrink(ctx)
        _upload(host, spec.storage, f"{prefix}{DOMAIN}", xml.encode())
        ctx.result["backup"] = f"{spec.storage}:{prefix[:-1]}"

    return core.tasks_book.run("backup", guest_id, host.name, work, lock=(guest_id,))


def _download(host: Host, pool: str, name: str) -> str:
    def read(conn: libvirt.virConnect) -> str:
        vol = conn.storagePoolLookupByName(pool).storageVolLookupByName(name)
        stream = conn.newStream(0)
        vol.download(stream, 0, 0, 0)
        chunks = []
        while chunk := stream.recv(65536):
            chunks.append(chunk)
        stream.finish()
        return b"".join(chunks).decode()
    return host.call(read, f"reading {name} from pool {pool}")


def backup_parts(core: ClusterCore, guest_id: str, backup_id: str) -> tuple[Host, str, str]:
    """A backup of the guest as (its host, its pool, its files' prefix "<uuid>.<stamp>").
    Raises NotFound when the guest has no such backup."""
    if backup_id not in {b.id for b in listing(core, guest_id)}:
        raise NotFound(f"{guest_id} has no backup {backup_id!r}")
    host, _dom = core.locate(guest_id)
    pool, _, prefix = backup_id.partition(":")
    return host, pool, prefix


def restore(core: ClusterCore, guest_id: str, spec: RestoreSpec) -> Task:
    """Define a new guest called `spec.name` on copies of a backup's disk files."""
    check_restore(options(core, guest_id), spec)
    host, pool, prefix = backup_parts(core, guest_id, spec.backup)
    check_name(core, host, spec.name)
    xml = _download(host, pool, f"{prefix}.{DOMAIN}")
    disks = disk_files(pool_volumes(host, pool), prefix)
    macs = {m for h in core.hosts for e in core.cache(h).entries() for m in e.desc.macs}

    def next_mac() -> str:
        mac = new_mac(macs)
        macs.add(mac)
        return mac

    def work(ctx: TaskContext) -> None:
        new_disks: dict[str, NewDisk] = {}

        def copy(conn: libvirt.virConnect, source: str, target: str) -> str:
            store = conn.storagePoolLookupByName(pool)
            src = store.storageVolLookupByName(source)
            name = f"{spec.name}-{target}.qcow2"
            store.createXMLFrom(
                f"<volume><name>{name}</name><capacity unit='bytes'>{src.info()[1]}"
                "</capacity><target><format type='qcow2'/></target></volume>", src, 0)
            return name

        try:
            for done, source in enumerate(disks):
                target = disk_target(prefix, source)[0]
                ctx.log(f"copying {source} to a new volume for {target}")
                name = host.call(partial(copy, source=source, target=target),
                                 f"copying {source}", timeout=COPY_TIMEOUT_S)
                new_disks[target] = NewDisk("qcow2", pool=pool, volume=name)
                ctx.progress((done + 1) / (len(disks) + 1))
            new_xml = clone_definition(xml, spec.name, f"restored from {spec.backup}",
                                       new_disks, next_mac)
            new = host.call(lambda c: c.defineXML(new_xml), f"defining {spec.name}")
        except Exception:
            made = {d.volume for d in new_disks.values()}
            for name in remove_volumes(host, pool, lambda n: n in made):
                ctx.log(f"removed the copy {name}")
            raise
        ctx.log(f"{spec.name} defined on {host.name}: UUID {new.UUIDString()}")
        ctx.result["new_id"] = guest_id_of(new.UUIDString())
        core.defined(host, new.UUIDString())

    return core.tasks_book.run("restore", guest_id, host.name, work)


def remove_volumes(host: Host, pool: str, names: Callable[[str], bool]) -> list[str]:
    """Delete the pool's volumes whose name `names` accepts; their names."""
    def remove(conn: libvirt.virConnect) -> list[str]:
        store = conn.storagePoolLookupByName(pool)
        store.refresh(0)
        gone = []
        for vol in store.listAllVolumes(0):
            if names(vol.name()):
                vol.delete(0)
                gone.append(vol.name())
        return gone
    return host.call(remove, f"deleting volumes of pool {pool}")


def delete(core: ClusterCore, guest_id: str, backup_id: str) -> Task:
    """Delete a backup's disk files and its definition."""
    host, pool, prefix = backup_parts(core, guest_id, backup_id)

    def work(ctx: TaskContext) -> None:
        for name in remove_volumes(host, pool, lambda n: n.startswith(f"{prefix}.")):
            ctx.log(f"deleted {name}")

    return core.tasks_book.run("delbackup", guest_id, host.name, work)
