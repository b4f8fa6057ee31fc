"""A domain's definition as the console needs it, read from libvirt's XML, and the
rewrite that gives a clone its own identity."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from collections.abc import Callable, Collection
from dataclasses import dataclass

from vmconsole.backends.libvirt.metadata import (
    NAMESPACE,
    GuestMeta,
    find_meta_element,
    parse_meta,
)

_UNITS = {"b": 1, "bytes": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024**2,
          "mib": 1024**2, "mb": 1000**2, "g": 1024**3, "gib": 1024**3, "gb": 1000**3,
          "t": 1024**4, "tib": 1024**4, "tb": 1000**4}


def size_in_bytes(element: ET.Element | None, default_unit: str = "KiB") -> int:
    """A libvirt size element (`<memory unit='MiB'>512</memory>`) in bytes."""
    if element is None or not (element.text or "").strip():
        return 0
    unit = element.get("unit", default_unit).lower()
    return int(element.text.strip()) * _UNITS.get(unit, 1024)  # type: ignore[union-attr]


@dataclass(frozen=True, slots=True)
class Disk:
    target: str  # vda
    source: str | None  # a path for file and block disks; None for network or empty ones
    device: str  # disk, cdrom
    format: str | None  # qcow2, raw
    readonly: bool
    shareable: bool  # libvirt lets such a disk migrate: its users share it knowingly
    pool: str | None = None  # a `<disk type='volume'>`: the pool and volume it names
    volume: str | None = None

    @property
    def writable_image(self) -> bool:
        """A disk whose contents belong to this guest (not a CD-ROM, not read-only)."""
        return (self.device == "disk" and not self.readonly
                and (self.source is not None or self.volume is not None))

    @property
    def label(self) -> str:
        """Where the disk is, for messages: its path, or pool/volume."""
        return self.source or f"{self.pool}/{self.volume}"


@dataclass(frozen=True, slots=True)
class NewDisk:
    """Where a clone's disk goes: a path (file disk) or a volume of a pool."""

    format: str  # qcow2, raw
    path: str | None = None
    pool: str | None = None
    volume: str | None = None


@dataclass(frozen=True, slots=True)
class DomainDesc:
    """What one domain's XML says, parsed once and cached until an event changes it."""

    name: str
    uuid: str
    vcpus: int
    memory: int  # bytes
    disks: tuple[Disk, ...]
    macs: tuple[str, ...]
    meta: GuestMeta
    balloon: bool  # a memory balloon device: memoryStats answers only with one
    # The disks whose contents are the guest's (`Disk.writable_image`), picked at the
    # parse: a host without bulk stats reads their counters for every running domain
    # and poll.
    image_disks: tuple[Disk, ...]


def parse_domain(xml: str) -> DomainDesc:
    root = ET.fromstring(xml)
    disks = []
    for disk in root.findall("devices/disk"):
        source = disk.find("source")
        path = pool = volume = None
        if source is not None:
            path = source.get("file") or source.get("dev")
            if disk.get("type") == "volume":
                pool, volume = source.get("pool"), source.get("volume")
        driver = disk.find("driver")
        target = disk.find("target")
        disks.append(Disk(
            target=target.get("dev", "?") if target is not None else "?",
            source=path,
            device=disk.get("device", "disk"),
            format=driver.get("type") if driver is not None else None,
            readonly=disk.find("readonly") is not None,
            shareable=disk.find("shareable") is not None,
            pool=pool,
            volume=volume,
        ))
    macs = tuple(mac.get("address", "").lower() for mac in root.findall("devices/interface/mac"))
    vcpu = root.findtext("vcpu", "1").strip() or "1"
    return DomainDesc(
        name=root.findtext("name", ""),
        uuid=root.findtext("uuid", ""),
        vcpus=int(vcpu),
        memory=size_in_bytes(root.find("memory")),
        disks=tuple(disks),
        macs=macs,
        meta=parse_meta(find_meta_element(root)),
        balloon=any(b.get("model", "none") != "none"
                    for b in root.findall("devices/memballoon")),
        image_disks=tuple(d for d in disks if d.writable_image),
    )


def new_mac(taken: Collection[str], rng: random.Random | None = None) -> str:
    """A locally administered MAC in QEMU's 52:54:00 range that no known guest uses."""
    rng = rng or random.Random()
    while True:
        mac = "52:54:00:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3))
        if mac not in taken:
            return mac


def clone_definition(xml: str, name: str, description: str,
                     new_disks: dict[str, NewDisk],
                     next_mac: Callable[[], str]) -> str:
    """The definition of a clone: a new name, no UUID (libvirt makes one), new MACs, its
    own disks (`new_disks` maps a target such as vda to where its copy is), no template
    mark, no HA and no address (those belong to the original)."""
    ET.register_namespace("vmc", NAMESPACE)
    root = ET.fromstring(xml)
    root.attrib.pop("id", None)
    root.find("name").text = name  # type: ignore[union-attr]
    for tag in ("uuid", "description"):
        if (element := root.find(tag)) is not None:
            root.remove(element)
    if description:
        desc = ET.Element("description")
        desc.text = description
        root.insert(2, desc)
    if (metadata := root.find("metadata")) is not None and (
            ours := find_meta_element(root)) is not None:
        metadata.remove(ours)
    for interface in root.findall("devices/interface"):
        # ip and route: addresses a container's interface is given (they are its own)
        for tag in ("target", "alias", "address", "ip", "route"):
            for element in interface.findall(tag):
                interface.remove(element)
        mac = interface.find("mac")
        if mac is None:
            mac = ET.SubElement(interface, "mac")
        mac.set("address", next_mac())
    _put_disks(root, new_disks)
    return ET.tostring(root, encoding="unicode")


def with_disks(xml: str, new_disks: dict[str, NewDisk]) -> str:
    """The same definition (name, UUID, MACs, metadata) with the disks of `new_disks`
    (target -> where) pointing there instead: a restore over the guest."""
    ET.register_namespace("vmc", NAMESPACE)
    root = ET.fromstring(xml)
    _put_disks(root, new_disks)
    return ET.tostring(root, encoding="unicode")


def _put_disks(root: ET.Element, new_disks: dict[str, NewDisk]) -> None:
    """Point each disk of `new_disks` (by target) at its new place and format; the
    old source's backing chain goes with it."""
    for disk in root.findall("devices/disk"):
        target = disk.find("target")
        dev = target.get("dev") if target is not None else None
        if dev not in new_disks:
            continue
        new = new_disks[dev]
        for tag in ("source", "backingStore"):
            for element in disk.findall(tag):
                disk.remove(element)
        if new.path is not None:
            disk.set("type", "file")
            disk.insert(1, ET.Element("source", {"file": new.path}))
        else:
            disk.set("type", "volume")
            disk.insert(1, ET.Element("source", {"pool": new.pool or "",
                                                 "volume": new.volume or ""}))
        if (driver := disk.find("driver")) is not None:
            driver.set("type", new.format)
