"""Copying a disk onto a pool whose volumes libvirt can neither create nor fill: an
`iscsi-direct` pool, whose volumes are the LUNs the target's admin made (libvirt's
storage driver refuses volume creation, upload and download there).

The copy goes into a free LUN by QEMU's own block copy (`virDomainBlockCopy`, libvirt
creates the image format on the LUN with QEMU's blockdev-create) from a helper domain
that holds only the source disk and never runs (started paused, so the source cannot
change while it is copied). When the copy job is ready, aborting it without a pivot
leaves the destination a complete copy (libvirt's virDomainBlockJobAbort manual), and
the helper is destroyed. Every step is a libvirt call on the source's host, so it works
for any cluster whose hosts see one iSCSI target, not only the lab.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import libvirt

from vmconsole.backends.base import BackendError, Conflict, NotSupported
from vmconsole.backends.libvirt.domainxml import Disk, parse_domain

# Pool types whose volumes libvirt cannot create (docs: "Storage pool types", iSCSI direct).
BLOCK_COPY_POOL_TYPES = frozenset({"iscsi-direct"})
HELPER_MEMORY_MIB = 32  # never runs: QEMU only needs to start
_LUN = re.compile(r"-lun-(\d+)$")


def pool_type(pool: libvirt.virStoragePool) -> str:
    """The pool's type as its XML names it (dir, iscsi-direct, ...)."""
    return ET.fromstring(pool.XMLDesc(0)).get("type", "dir")


@dataclass(frozen=True, slots=True)
class Portal:
    """Where an iscsi-direct pool's LUNs are, read from the pool's `<source>`."""

    host: str
    port: str
    target: str  # the target's IQN
    initiator: str | None

    @classmethod
    def of(cls, pool: libvirt.virStoragePool) -> Portal:
        """Raises NotSupported for a pool with CHAP (its secret cannot be handed on)."""
        source = ET.fromstring(pool.XMLDesc(0)).find("source")
        host = source.find("host") if source is not None else None
        device = source.find("device") if source is not None else None
        if source is None or host is None or device is None:
            raise NotSupported(f"pool {pool.name()} names no iSCSI host and target")
        if source.find("auth") is not None:
            raise NotSupported(f"pool {pool.name()} uses CHAP: the console cannot copy onto it")
        initiator = source.find("initiator/iqn")
        return cls(host.get("name", ""), host.get("port", "3260"), device.get("path", ""),
                   initiator.get("name") if initiator is not None else None)

    def disk_xml(self, lun: int, fmt: str) -> str:
        """A network `<disk>` on one LUN, as blockCopy's destination."""
        disk = ET.Element("disk", {"type": "network", "device": "disk"})
        ET.SubElement(disk, "driver", {"name": "qemu", "type": fmt})
        source = ET.SubElement(disk, "source", {"protocol": "iscsi",
                                                "name": f"{self.target}/{lun}"})
        ET.SubElement(source, "host", {"name": self.host, "port": self.port})
        if self.initiator:
            ET.SubElement(ET.SubElement(source, "initiator"), "iqn", {"name": self.initiator})
        return ET.tostring(disk, encoding="unicode")


def lun_of(volume: libvirt.virStorageVol) -> int:
    """The LUN number of an iscsi-direct volume (its path ends in `-lun-N`)."""
    found = _LUN.search(volume.path())
    if found is None:
        raise NotSupported(f"volume {volume.name()} is not an iSCSI LUN ({volume.path()})")
    return int(found.group(1))


class LunReservations:
    """LUNs chosen by clones still running in this process, so two clones never pick
    the same one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: set[tuple[str, str]] = set()

    def take(self, pool: str, candidates: list[str]) -> str | None:
        with self._lock:
            for volume in candidates:
                if (pool, volume) not in self._held:
                    self._held.add((pool, volume))
                    return volume
        return None

    def release(self, pool: str, volume: str) -> None:
        with self._lock:
            self._held.discard((pool, volume))


RESERVATIONS = LunReservations()


def volumes_in_use(domain_xmls: list[str], pool: str) -> set[str]:
    """Volumes of `pool` that some domain's disk names."""
    return {d.volume for xml in domain_xmls for d in parse_domain(xml).disks
            if d.pool == pool and d.volume}


def free_volume(pool: libvirt.virStoragePool, capacity: int, in_use: set[str]) -> str:
    """A volume (LUN) of the pool that no guest uses and that holds `capacity` bytes;
    reserved until `RESERVATIONS.release`. Raises Conflict when there is none."""
    pool.refresh(0)
    fits = sorted((v for v in pool.listAllVolumes(0)
                   if v.name() not in in_use and v.info()[1] >= capacity),
                  key=lambda v: (v.info()[1], lun_of(v)))
    chosen = RESERVATIONS.take(pool.name(), [v.name() for v in fits])
    if chosen is None:
        raise Conflict(f"pool {pool.name()} has no free LUN of {capacity // 1024**2} MiB or "
                       "more: every LUN is some guest's disk (the target's admin adds LUNs)")
    return chosen


def _helper_xml(source_xml: str, disk: Disk, name: str) -> str:
    """A domain holding only the disk to copy, of the source's type, machine and
    emulator."""
    source = ET.fromstring(source_xml)
    root = ET.Element("domain", {"type": source.get("type", "qemu")})
    ET.SubElement(root, "name").text = name
    ET.SubElement(root, "memory", {"unit": "MiB"}).text = str(HELPER_MEMORY_MIB)
    os_type = source.find("os/type")
    os_el = ET.SubElement(root, "os")
    ET.SubElement(os_el, "type", dict(os_type.attrib) if os_type is not None else {}).text = "hvm"
    devices = ET.SubElement(root, "devices")
    if (emulator := source.find("devices/emulator")) is not None:
        ET.SubElement(devices, "emulator").text = emulator.text
    for element in source.findall("devices/disk"):
        target = element.find("target")
        if target is not None and target.get("dev") == disk.target:
            for tag in ("alias", "address"):
                for inner in element.findall(tag):
                    element.remove(inner)
            devices.append(element)
    return ET.tostring(root, encoding="unicode")


def block_copy(conn: libvirt.virConnect, source_xml: str, disk: Disk, destination: str,
               timeout: float) -> None:
    """Copy `disk` of the (stopped) domain `source_xml` to the `<disk>` XML
    `destination`, on `conn`'s host. Blocks up to `timeout` seconds; raises
    BackendError with libvirt's words when the copy fails."""
    name = f"vmc-copy-{secrets.token_hex(4)}"
    status: list[int] = []
    ended = threading.Event()

    def on_job(_c: libvirt.virConnect, _d: libvirt.virDomain, _disk: str, _type: int,
               job_status: int, _opaque: object) -> None:
        status.append(job_status)
        ended.set()

    helper = conn.createXML(_helper_xml(source_xml, disk, name),
                            libvirt.VIR_DOMAIN_START_PAUSED)
    callback = conn.domainEventRegisterAny(helper, libvirt.VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2,
                                           on_job, None)
    try:
        helper.blockCopy(disk.target, destination, None, 0)
        if not ended.wait(timeout):
            raise BackendError(f"copying {disk.target}: not done within {timeout:g} s")
        if status[0] != libvirt.VIR_DOMAIN_BLOCK_JOB_READY:
            raise BackendError(f"copying {disk.target}: QEMU's block copy ended before it "
                               f"was complete (libvirt job status {status[0]})")
        helper.blockJobAbort(disk.target, 0)  # not a pivot: the copy stays as made
    finally:
        conn.domainEventDeregisterAny(callback)
        with contextlib.suppress(libvirt.libvirtError):  # a transient domain gone already
            helper.destroy()
