"""Snapshots: the tree as libvirt keeps it, create (with RAM state for running guests),
rollback and delete, and whether a clone can be made of one."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import libvirt

from vmconsole.backends.base import Conflict, InvalidInput, NotFound, Task
from vmconsole.backends.libvirt.cluster import ClusterCore
from vmconsole.backends.libvirt.connection import Host
from vmconsole.backends.libvirt.tasks import TaskContext
from vmconsole.model.snapshots import Snapshot

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
# A snapshot with RAM can take as long as writing the guest's memory out.
SNAPSHOT_TIMEOUT_S = 600.0
# libvirt keeps a snapshot of a qcow2 disk inside the image (an internal snapshot) and
# has no call that reads or copies an image as it was at one (virStorageVolCreateXMLFrom
# and virDomainBlockCopy copy the image's present state): only the definition is kept
# apart, in the snapshot's XML.
DISK_STATE_REFUSAL = ("libvirt cannot copy a disk as it was at a snapshot (the state is "
                      "kept inside the qcow2 image): roll back to it, then clone the "
                      "stopped guest")


def _parse(xml: str, current: bool, has_disks: bool) -> Snapshot:
    """A snapshot from its XML; `has_disks`: the guest has image disks, so only its
    definition could be cloned from the snapshot, not its disks' state."""
    root = ET.fromstring(xml)
    created = root.findtext("creationTime")
    memory = root.find("memory")
    refusal = (DISK_STATE_REFUSAL if has_disks else None if root.find("domain") is not None
               else "the snapshot keeps no definition of the guest")
    return Snapshot(
        name=root.findtext("name", ""),
        parent=root.findtext("parent/name"),
        created=float(created) if created else None,
        description=root.findtext("description", ""),
        vmstate=memory is not None and memory.get("snapshot", "no") != "no",
        current=current,
        clone_refusal=refusal,
    )


def snapshots(core: ClusterCore, guest_id: str) -> list[Snapshot]:
    """Every snapshot of a guest, parents before children, oldest first; each says
    whether a clone can be made of it (`clone_refusal`: only of a diskless guest)."""
    host, dom = core.locate(guest_id)
    has_disks = bool(core.describe(host, dom).desc.image_disks)

    def read(_c: libvirt.virConnect) -> list[Snapshot]:
        return [_parse(s.getXMLDesc(0), bool(s.isCurrent()), has_disks)
                for s in dom.listAllSnapshots(0)]

    found = host.call(read, f"listing snapshots of {dom.name()}")
    return sorted(found, key=lambda s: (s.created or 0.0, s.name))


def _lookup(host: Host, dom: libvirt.virDomain, name: str) -> libvirt.virDomainSnapshot:
    try:
        return host.call(lambda _c: dom.snapshotLookupByName(name, 0),
                         f"finding snapshot {name} of {dom.name()}")
    except NotFound:
        raise NotFound(f"{dom.name()} has no snapshot {name!r}") from None


def create(core: ClusterCore, guest_id: str, name: str, description: str,
           vmstate: bool) -> Task:
    if not _NAME.match(name):
        raise InvalidInput("a snapshot name is 1-64 letters, digits, '.', '_', '+' or '-', "
                           "starting with a letter or digit", {"name": "invalid name"})
    host, dom = core.locate(guest_id)
    guest = dom.name()
    if name in (s.name for s in snapshots(core, guest_id)):
        raise Conflict(f"{guest} already has a snapshot named {name!r}")
    running = bool(host.call(lambda _c: dom.isActive(), f"reading {guest}"))
    root = ET.Element("domainsnapshot")
    ET.SubElement(root, "name").text = name
    if description:
        ET.SubElement(root, "description").text = description
    if running and not vmstate:
        ET.SubElement(root, "memory", {"snapshot": "no"})
    xml = ET.tostring(root, encoding="unicode")

    def work(ctx: TaskContext) -> None:
        ram = " with its RAM state" if running and vmstate else ""
        ctx.log(f"snapshot {name} of {guest} on {host.name}{ram}")
        host.call(lambda _c: dom.snapshotCreateXML(xml, 0), f"snapshotting {guest}",
                  timeout=SNAPSHOT_TIMEOUT_S)
        ctx.log(f"snapshot {name} created")
        ctx.result["snapshot"] = name

    return core.tasks_book.run("snapshot", guest_id, host.name, work, lock=(guest_id,))


def rollback(core: ClusterCore, guest_id: str, name: str) -> Task:
    host, dom = core.locate(guest_id)
    guest = dom.name()
    snap = _lookup(host, dom, name)

    def work(ctx: TaskContext) -> None:
        ctx.log(f"rolling {guest} back to {name}; changes made since are lost")
        host.call(lambda _c: dom.revertToSnapshot(snap, 0), f"rolling {guest} back to {name}",
                  timeout=SNAPSHOT_TIMEOUT_S)
        core.defined(host, dom.UUIDString())
        ctx.log(f"{guest} is at {name}")

    return core.tasks_book.run("rollback", guest_id, host.name, work, lock=(guest_id,))


def delete(core: ClusterCore, guest_id: str, name: str) -> Task:
    host, dom = core.locate(guest_id)
    guest = dom.name()
    snap = _lookup(host, dom, name)

    def work(ctx: TaskContext) -> None:
        ctx.log(f"deleting snapshot {name} of {guest} (its children keep their state)")
        host.call(lambda _c: snap.delete(0), f"deleting snapshot {name} of {guest}",
                  timeout=SNAPSHOT_TIMEOUT_S)
        ctx.log(f"snapshot {name} deleted")

    return core.tasks_book.run("snapshot_delete", guest_id, host.name, work, lock=(guest_id,))
