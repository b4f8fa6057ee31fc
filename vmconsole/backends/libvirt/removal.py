"""Deleting a libvirt guest: `virDomainUndefineFlags` with its snapshots' and checkpoints'
metadata, its managed save image and its NVRAM, then, when the user asks for it,
`virStorageVolDelete` on each of its disks that is its own (`virsh undefine
--remove-all-storage` does the same, without our checks).

A disk stays, with the reason, when deleting it would harm another guest or libvirt
cannot delete it: a volume another domain of the cluster also uses (a shared disk), the
backing file of another volume (a template's disk under linked clones: qcow2's
`backingStore`, read from each volume's XML), a read-only disk or CD-ROM, a path that is
no volume of a pool, a volume of a pool type libvirt cannot delete volumes of (iSCSI and
SCSI LUNs: their storage backends have no deleteVol). When a node of the cluster does
not answer, no disk goes: that node's guests could use it.

A running guest is refused: libvirt would only make it transient. An HA guest is
refused as Proxmox refuses one (backends/removal.py): take it out of HA first.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import libvirt

from vmconsole.backends.base import BackendError, Conflict, NotFound, Task, Unreachable
from vmconsole.backends.libvirt.cluster import ClusterCore
from vmconsole.backends.libvirt.connection import Host
from vmconsole.backends.libvirt.domainxml import Disk, DomainDesc
from vmconsole.backends.libvirt.tasks import TaskContext
from vmconsole.backends.removal import DiskFate, RemovalPlan

# Pool types whose storage backend has no deleteVol (libvirt's storage_backend_*.c).
NO_DELETE_POOLS = frozenset({"iscsi", "iscsi-direct", "scsi", "mpath"})
# Pool types whose volumes may have a qcow2 backing file.
FILE_POOLS = frozenset({"dir", "fs", "netfs"})


@dataclass(frozen=True, slots=True)
class Volume:
    pool: str
    name: str
    pool_type: str
    size: int  # bytes allocated

    @property
    def label(self) -> str:
        return f"{self.pool}/{self.name}"


@dataclass
class Storage:
    """The volumes of one host's active pools: by path, by "pool/name", and who uses
    each path as a backing file."""

    by_path: dict[str, Volume] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)  # "pool/name" -> path
    backing_of: dict[str, list[str]] = field(default_factory=dict)  # path -> volumes


def _pool_names(conn: libvirt.virConnect) -> list[str]:
    return [p.name() for p in
            conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)]


def _read_pool(storage: Storage, name: str, conn: libvirt.virConnect) -> None:
    pool = conn.storagePoolLookupByName(name)
    pool.refresh(0)
    kind = ET.fromstring(pool.XMLDesc(0)).get("type", "")
    for vol in pool.listAllVolumes(0):
        path = vol.path()
        volume = Volume(name, vol.name(), kind, int(vol.info()[2]))
        storage.by_path[path] = volume
        storage.by_name[volume.label] = path
        if kind in FILE_POOLS:
            base = ET.fromstring(vol.XMLDesc(0)).findtext("backingStore/path")
            if base:
                storage.backing_of.setdefault(base, []).append(volume.label)


def read_storage(host: Host) -> Storage:
    """Every volume of the host's active pools, and each file volume's backing file;
    one call per pool, so a large pool stays within the host's timeout per call."""
    storage = Storage()
    for name in host.call(_pool_names, "listing the pools"):
        host.call(partial(_read_pool, storage, name), f"reading pool {name}")
    return storage


def _keys(disk: Disk, storage: Storage | None) -> set[str]:
    """What names one disk: its path and "pool/volume", each resolved through the
    host's volumes where known."""
    keys = set()
    if disk.source:
        keys.add(disk.source)
        if storage and (volume := storage.by_path.get(disk.source)):
            keys.add(volume.label)
    if disk.volume:
        label = f"{disk.pool}/{disk.volume}"
        keys.add(label)
        if storage and (path := storage.by_name.get(label)):
            keys.add(path)
    return keys


def _users(core: ClusterCore, host: Host, uuid: str,
           storages: dict[int, Storage]) -> tuple[dict[str, list[str]], list[str]]:
    """Which other domains use each disk key (key -> names), and the nodes that could
    not be read."""
    users: dict[str, list[str]] = {}
    unread: list[str] = []
    for other in core.hosts:
        if not other.active:
            unread.append(other.name)
            continue
        try:
            doms = other.call(lambda c: c.listAllDomains(0), "listing the domains")
            descs: list[DomainDesc] = []
            for dom in doms:
                if other is host and dom.UUIDString() == uuid:
                    continue
                try:
                    descs.append(core.describe(other, dom).desc)
                except NotFound:
                    # Undefined since the listing (a bulk delete removes guests side by
                    # side): it uses no disk any more.
                    continue
        except Unreachable:
            unread.append(other.name)
            continue
        for desc in descs:
            for disk in desc.disks:
                for key in _keys(disk, storages.get(id(other))):
                    users.setdefault(key, []).append(f"{desc.name} on {other.name}")
    return users, unread


def _fate(disk: Disk, storage: Storage, users: dict[str, list[str]],
          backing: dict[str, list[str]], unread: list[str]) -> DiskFate:
    keys = _keys(disk, storage)
    path = next((storage.by_name[k] for k in keys if k in storage.by_name), disk.source)
    volume = storage.by_path.get(path or "")
    where = volume.label if volume else disk.label if (disk.source or disk.volume) else (
        "a network disk")
    size = volume.size if volume else 0

    def kept(why: str) -> DiskFate:
        return DiskFate(disk.target, where, size, False, why)

    if disk.device in ("cdrom", "floppy"):
        return kept(f"removable media ({disk.device}), not the guest's own")
    if disk.device != "disk":  # a passed-through LUN
        return kept(f"a {disk.device} device of the host, not an image the guest owns")
    if disk.readonly:
        return kept("read-only: media the guest does not own")
    if volume is None:
        return kept("not a volume of a libvirt pool: libvirt cannot delete it")
    if volume.pool_type in NO_DELETE_POOLS:
        return kept(f"a LUN of {volume.pool_type} pool {volume.pool}: libvirt cannot "
                    "delete its volumes")
    if shared := sorted({u for k in keys for u in users.get(k, [])}):
        return kept(f"also a disk of {', '.join(shared)}")
    if path and (children := backing.get(path)):
        return kept(f"the backing file of {', '.join(sorted(children))}")
    if disk.shareable:
        return kept("marked shareable: other guests may attach it")
    if unread:
        return kept(f"{', '.join(unread)} did not answer: a guest there could use it")
    return DiskFate(disk.target, where, size, True)


def plan(core: ClusterCore, guest_id: str) -> RemovalPlan:
    """What undefining the guest would do now (SupportsUndefine.removal_plan)."""
    host, dom = core.locate(guest_id)
    name = dom.name()
    desc = core.describe(host, dom).desc
    active, snapshots = host.call(lambda _c: (bool(dom.isActive()), snapshot_names(dom)),
                                  f"reading {name}")
    why_not = ""
    if active:
        why_not = (f"{name} is running: shut it down first (libvirt would only make a "
                   "running guest transient)")
    elif desc.meta.ha is not None:
        why_not = f"{name} is HA-managed: remove it from HA first"
    storages = {id(host): read_storage(host)}
    backing: dict[str, list[str]] = {}
    for other in core.hosts:
        if other is not host and other.active:
            try:
                storages[id(other)] = read_storage(other)
            except Unreachable:
                continue
        for base, children in storages.get(id(other), Storage()).backing_of.items():
            backing.setdefault(base, []).extend(children)
    users, unread = _users(core, host, dom.UUIDString(), storages)
    storage = storages[id(host)]
    disks = tuple(_fate(d, storage, users, backing, unread) for d in desc.disks)
    return RemovalPlan(guest_id, name, tuple(sorted(snapshots)), disks, why_not)


def _has(read: Callable[[], object]) -> bool:
    """Whether a domain has some of what `read` lists; False where the driver has no
    such thing at all (LXC: no snapshots, no managed save)."""
    try:
        return bool(read())
    except libvirt.libvirtError as exc:
        if exc.get_error_code() in (libvirt.VIR_ERR_NO_SUPPORT,
                                    libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED):
            return False
        raise


def snapshot_names(dom: libvirt.virDomain) -> list[str]:
    """The domain's snapshots by name; none where its driver has no snapshots (LXC)."""
    return dom.snapshotListNames(0) if _has(lambda: dom.snapshotNum(0)) else []


def _undefine(dom: libvirt.virDomain, _conn: libvirt.virConnect) -> None:
    """Undefine with what belongs to the definition alone, each flag only where there
    is some: a driver without the thing refuses its flag as unsupported even when there
    is nothing to remove (LXC takes none; the test driver no checkpoints, no NVRAM)."""
    flags = 0
    if _has(lambda: dom.snapshotNum(0)):
        flags |= libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    if _has(lambda: dom.hasManagedSaveImage(0)):
        flags |= libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    if _has(lambda: dom.listAllCheckpoints(0)):
        flags |= libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
    if ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)).find("os/nvram") is not None:
        flags |= libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
    dom.undefineFlags(flags)


def _delete_volume(pool: str, volume: str, conn: libvirt.virConnect) -> None:
    conn.storagePoolLookupByName(pool).storageVolLookupByName(volume).delete(0)


def undefine(core: ClusterCore, guest_id: str, remove_storage: bool) -> Task:
    """Undefine the stopped guest and, with `remove_storage`, delete the volumes its
    plan calls removable (SupportsUndefine.undefine)."""
    host, dom = core.locate(guest_id)
    found = plan(core, guest_id)
    if found.why_not:
        raise Conflict(found.why_not)
    name, uuid = found.name, dom.UUIDString()
    going = found.removable if remove_storage else ()

    def work(ctx: TaskContext) -> None:
        ctx.log(f"undefining {name} on {host.name}"
                + (f" with the metadata of {len(found.snapshots)} snapshot(s): "
                   f"{', '.join(found.snapshots)}" if found.snapshots else ""))
        host.call(partial(_undefine, dom), f"undefining {name}")
        core.left(host, uuid)
        ctx.progress(1 / (len(going) + 1))
        for fate in found.disks:
            if fate not in going:
                ctx.log(f"kept {fate.disk} ({fate.volume}): " + (
                    fate.why_kept or "the disks were to stay"))
        failed = []
        for done, fate in enumerate(going, start=2):
            pool, _, volume = fate.volume.partition("/")
            try:
                host.call(partial(_delete_volume, pool, volume), f"deleting {fate.volume}")
            except BackendError as exc:
                failed.append(f"{fate.volume}: {exc.message}")
                ctx.log(f"could not delete {fate.disk} ({fate.volume}): {exc.message}")
            else:
                ctx.log(f"deleted {fate.disk} ({fate.volume}, {fate.size / 2**20:.0f} MiB)")
            ctx.progress(done / (len(going) + 1))
        ctx.result["deleted"] = len(going) - len(failed)
        ctx.result["kept"] = len(found.disks) - len(going) + len(failed)
        if failed:
            raise BackendError(f"{name} is undefined, but {len(failed)} of {len(going)} "
                               f"volume(s) could not be deleted: {'; '.join(failed)}")

    return core.tasks_book.run("destroy", guest_id, host.name, work, lock=(guest_id,))
