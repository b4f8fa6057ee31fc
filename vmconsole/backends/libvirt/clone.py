"""Clones, and guests created from templates: a new definition with its own name, UUID
and MACs, and its own disks (a pool's volume copy, a qcow2 overlay for a linked clone
of a template, or on an iSCSI pool a QEMU block copy into a free LUN). A failed clone
removes the volumes it made."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import partial

import libvirt

from vmconsole.backends.base import (
    Conflict,
    InvalidInput,
    NotFound,
    NotSupported,
    Task,
)
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.libvirt.blockcopy import (
    BLOCK_COPY_POOL_TYPES,
    RESERVATIONS,
    Portal,
    block_copy,
    free_volume,
    lun_of,
    pool_type,
    volumes_in_use,
)
from vmconsole.backends.libvirt.cluster import ClusterCore, guest_id_of
from vmconsole.backends.libvirt.connection import Host
from vmconsole.backends.libvirt.domainxml import (
    Disk,
    NewDisk,
    clone_definition,
    new_mac,
    parse_domain,
)
from vmconsole.backends.libvirt.hostread import SHARED_POOL_TYPES
from vmconsole.backends.libvirt.snapshots import DISK_STATE_REFUSAL
from vmconsole.backends.libvirt.tasks import TaskContext

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
COPY_TIMEOUT_S = 3600.0  # a volume copy runs as long as the disk is big


def _source_xml(host: Host, dom: libvirt.virDomain, snapshot: str | None) -> str:
    """The definition to clone: the guest's persistent one, or the one a snapshot kept."""
    if snapshot is None:
        return host.call(lambda _c: dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE),
                         f"reading {dom.name()}")
    try:
        xml = host.call(lambda _c: dom.snapshotLookupByName(snapshot, 0).getXMLDesc(0),
                        f"reading snapshot {snapshot} of {dom.name()}")
    except NotFound:
        raise NotFound(f"{dom.name()} has no snapshot {snapshot!r}") from None
    domain = ET.fromstring(xml).find("domain")
    if domain is None:
        raise NotSupported(f"snapshot {snapshot} of {dom.name()} keeps no definition")
    return ET.tostring(domain, encoding="unicode")


def _volume_xml(name: str, capacity: int, fmt: str, backing: Disk | None) -> str:
    root = ET.Element("volume")
    ET.SubElement(root, "name").text = name
    ET.SubElement(root, "capacity", {"unit": "bytes"}).text = str(capacity)
    ET.SubElement(ET.SubElement(root, "target"), "format", {"type": fmt})
    if backing is not None and backing.source:
        store = ET.SubElement(root, "backingStore")
        ET.SubElement(store, "path").text = backing.source
        ET.SubElement(store, "format", {"type": backing.format or "raw"})
    return ET.tostring(root, encoding="unicode")


def check_name(core: ClusterCore, target: Host, name: str) -> None:
    if not NAME.match(name):
        raise InvalidInput("a guest name is 1-64 letters, digits, '.', '_', '+' or '-', "
                           "starting with a letter or digit", {"name": "invalid name"})
    taken = [g for g in core.last_inventory.guests if g.name == name]
    if taken:
        raise Conflict(f"a guest named {name!r} already exists (on {taken[0].node})")
    try:
        target.call(lambda c: c.lookupByName(name), f"checking the name {name}")
    except NotFound:
        return
    raise Conflict(f"a guest named {name!r} already exists on {target.name}")


def clone(core: ClusterCore, guest_id: str, spec: CloneSpec) -> Task:
    host, dom = core.locate(guest_id)
    target = core.host_named(spec.node, host.containers)  # a container goes to the node's lxc
    target.connection()  # Unreachable now, not in the task, when the node is lost
    check_name(core, target, spec.name)
    source = dom.name()
    xml = _source_xml(host, dom, spec.snapshot)
    desc = parse_domain(xml)
    disks = desc.image_disks
    template = core.describe(host, dom).desc.meta.template
    running = bool(host.call(lambda _c: dom.isActive(), f"reading {source}"))
    if disks:
        if spec.snapshot is not None:
            raise NotSupported(f"{source} has disks: {DISK_STATE_REFUSAL}")
        if running:
            raise InvalidInput(f"{source} is running: stop it so its disks can be copied "
                               "consistently", {"source": "running"})
        pools = _pools_of(host, disks)
        kinds = dict(pools.values())
        shared = len(pools) == len(disks) and set(kinds.values()) <= SHARED_POOL_TYPES
        if target is not host and not shared:
            raise NotSupported(f"{source}'s disks are on {host.name}: libvirt copies volumes "
                               f"within one host only; clone it on {host.name}")
        if not spec.full and not template:
            raise InvalidInput("a linked clone needs a template as its base (a base that "
                               "changes would corrupt its clones)", {"full": "needs template"})
        if not spec.full and (lun_pools := {p for p, k in kinds.items()
                                            if k in BLOCK_COPY_POOL_TYPES}):
            raise InvalidInput(f"pool {', '.join(sorted(lun_pools))} holds LUNs, which libvirt "
                               "cannot create: no qcow2 overlay can be made there; make a full "
                               "clone (a copy into a free LUN)", {"full": "needs full"})
        in_use = _volumes_in_use(core, kinds)
    else:
        in_use = _InUse()
    macs = {m for h in core.hosts for e in core.cache(h).entries() for m in e.desc.macs}

    def next_mac() -> str:
        mac = new_mac(macs)
        macs.add(mac)
        return mac

    def work(ctx: TaskContext) -> None:
        how = "full" if spec.full else "linked"
        ctx.log(f"{how} clone of {source} ({host.name}) as {spec.name} on {target.name}")
        made: list[libvirt.virStorageVol] = []
        try:
            paths = _copy_disks(ctx, host, xml, disks, spec, made, in_use)
            new_xml = clone_definition(xml, spec.name, spec.description, paths, next_mac)
            new = target.call(lambda c: c.defineXML(new_xml), f"defining {spec.name}")
        except Exception:
            _remove(ctx, host, made)
            raise
        finally:
            for pool, volume in in_use.reserved:
                RESERVATIONS.release(pool, volume)
        uuid = new.UUIDString()
        ctx.log(f"{spec.name} defined on {target.name}: UUID {uuid}, MAC "
                f"{', '.join(parse_domain(new_xml).macs) or 'none'}")
        ctx.result["new_id"] = guest_id_of(uuid)
        core.defined(target, uuid)

    lock = () if template else (guest_id,)
    return core.tasks_book.run("clone", guest_id, target.name, work, lock=lock)


@dataclass
class _InUse:
    """Volumes of LUN pools that guests use (by pool), and those this clone reserved."""

    by_pool: dict[str, set[str]] = field(default_factory=dict)
    reserved: set[tuple[str, str]] = field(default_factory=set)


def _pools_of(host: Host, disks: tuple[Disk, ...]) -> dict[str, tuple[str, str]]:
    """For each disk (by target) in a pool: the pool's name and type; a disk outside
    every pool is left out."""

    def read(conn: libvirt.virConnect) -> dict[str, tuple[str, str]]:
        found = {}
        for disk in disks:
            try:
                pool = (conn.storagePoolLookupByName(disk.pool) if disk.pool else
                        conn.storageVolLookupByPath(disk.source).storagePoolLookupByVolume())
            except libvirt.libvirtError:
                continue
            found[disk.target] = (pool.name(), pool_type(pool))
        return found

    return host.call(read, "reading the disks' pools")


def _volumes_in_use(core: ClusterCore, kinds: dict[str, str]) -> _InUse:
    """For LUN pools, the volumes every guest on every node uses, read now: a LUN
    taken for a copy must be no one's disk, so every node must answer."""
    lun_pools = {p for p, k in kinds.items() if k in BLOCK_COPY_POOL_TYPES}
    if not lun_pools:
        return _InUse()
    if down := [h.name for h in core.hosts if not h.active]:
        raise NotSupported(f"{', '.join(down)} cannot be asked which LUNs its guests use: "
                           "a copy onto shared storage waits until every node is online")
    xmls = []
    for host in core.hosts:
        xmls += host.call(lambda c: [d.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
                                     for d in c.listAllDomains(0)],
                          f"reading the guests of {host.name}")
    return _InUse({p: volumes_in_use(xmls, p) for p in lun_pools})


def _copy_disks(ctx: TaskContext, host: Host, xml: str, disks: tuple[Disk, ...],
                spec: CloneSpec, made: list[libvirt.virStorageVol],
                in_use: _InUse) -> dict[str, NewDisk]:
    new_disks: dict[str, NewDisk] = {}
    for index, disk in enumerate(disks, 1):
        if disk.pool in in_use.by_pool:
            copy = partial(_copy_to_lun, ctx=ctx, xml=xml, disk=disk, in_use=in_use)
            new_disks[disk.target] = host.call(copy, f"copying {disk.target}",
                                               timeout=COPY_TIMEOUT_S)
        else:
            new, fmt = host.call(partial(_copy_one, ctx=ctx, disk=disk, spec=spec),
                                 f"copying {disk.target}", timeout=COPY_TIMEOUT_S)
            made.append(new)
            new_disks[disk.target] = NewDisk(fmt, path=new.path())
        ctx.progress(index / (len(disks) + 1))
    return new_disks


def _copy_to_lun(conn: libvirt.virConnect, ctx: TaskContext, xml: str, disk: Disk,
                 in_use: _InUse) -> NewDisk:
    """A full copy of a disk on a LUN pool into a free LUN of the same pool."""
    pool = conn.storagePoolLookupByName(disk.pool)
    capacity = pool.storageVolLookupByName(disk.volume).info()[1]
    volume = free_volume(pool, capacity, in_use.by_pool[pool.name()])
    in_use.reserved.add((pool.name(), volume))
    lun = lun_of(pool.storageVolLookupByName(volume))
    fmt = disk.format or "raw"
    ctx.log(f"copying {disk.label} to LUN {lun} ({volume}) of {pool.name()} with QEMU's "
            "block copy (libvirt cannot copy LUNs)")
    block_copy(conn, xml, disk, Portal.of(pool).disk_xml(lun, fmt), COPY_TIMEOUT_S)
    return NewDisk(fmt, pool=pool.name(), volume=volume)


def _copy_one(conn: libvirt.virConnect, ctx: TaskContext, disk: Disk,
              spec: CloneSpec) -> tuple[libvirt.virStorageVol, str]:
    """The clone's volume for one disk: a copy, or an overlay on the template's."""
    path = disk.source or ""
    try:
        volume = conn.storageVolLookupByPath(path)
    except libvirt.libvirtError:
        raise NotSupported(f"disk {disk.target} ({disk.label}) is not a volume of a storage "
                           "pool: libvirt cannot copy it") from None
    pool = (conn.storagePoolLookupByName(spec.storage) if spec.storage
            else volume.storagePoolLookupByVolume())
    capacity = volume.info()[1]
    fmt = "qcow2" if not spec.full else (disk.format or "raw")
    name = f"{spec.name}-{disk.target}.{'qcow2' if fmt == 'qcow2' else 'img'}"
    if spec.full:
        ctx.log(f"copying {path} to {name} in {pool.name()} (pool volume clone)")
        return pool.createXMLFrom(_volume_xml(name, capacity, fmt, None), volume, 0), fmt
    ctx.log(f"qcow2 overlay {name} in {pool.name()} on top of {path}")
    return pool.createXML(_volume_xml(name, capacity, fmt, disk), 0), fmt


def _remove(ctx: TaskContext, host: Host, volumes: list[libvirt.virStorageVol]) -> None:
    for volume in volumes:
        try:
            host.call(partial(_delete, volume), f"removing {volume.name()}")
            ctx.log(f"removed the partial clone's volume {volume.name()}")
        except Exception as exc:  # report and go on: the original error matters more
            ctx.log(f"could not remove {volume.name()}: {exc}")


def _delete(volume: libvirt.virStorageVol, _conn: libvirt.virConnect) -> None:
    volume.delete(0)
