"""Deleting a guest on libvirt's test driver: what would go and what stays, and why
(a template's disk under a linked clone, a disk another guest uses, media, a path no
pool holds); the undefine with its snapshots' metadata; its own volumes deleted only
when asked; a running guest refused. The lab deletes a real domain and volume
(tests/lab/test_removal.py)."""

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

import libvirt

from vmconsole.backends.base import Conflict, TaskStatus
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.removal import SupportsDestroy, SupportsUndefine

from .conftest import guest_named, wait

OLD1 = """<domain type='test'><name>{name}</name><memory unit='MiB'>256</memory>
<os><type arch='x86_64'>hvm</type></os><devices>
  <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
    <source file='/pool1/{name}.qcow2'/><target dev='vda'/></disk>
  <disk type='volume' device='disk'><driver name='qemu' type='raw'/>
    <source pool='pool1' volume='shared.raw'/><target dev='vdb'/></disk>
  <disk type='file' device='cdrom'><source file='/iso/debian.iso'/><target dev='sda'/>
    <readonly/></disk>
  <disk type='file' device='disk'><source file='/srv/elsewhere.img'/><target dev='vdc'/></disk>
</devices></domain>"""
PEER = """<domain type='test'><name>peer1</name><memory unit='MiB'>256</memory>
<os><type arch='x86_64'>hvm</type></os><devices>
  <disk type='file' device='disk'><source file='/pool1/shared.raw'/><target dev='vda'/></disk>
</devices></domain>"""
SNAPSHOT = "<domainsnapshot><name>before</name></domainsnapshot>"


def volume_xml(name: str) -> str:
    return (f"<volume><name>{name}</name><capacity unit='MiB'>64</capacity>"
            "<allocation unit='MiB'>16</allocation></volume>")


def volumes(cluster) -> set[str]:
    conn = cluster.host_named("pve1").connection()
    return {v.name() for v in conn.storagePoolLookupByName("pool1").listAllVolumes(0)}


def define_old1(cluster) -> None:
    """A stopped guest old1 with its own volume, a volume shared with peer1 (stopped,
    defined too), a CD-ROM, a disk outside any pool, and a snapshot."""
    conn = cluster.host_named("pve1").connection()
    pool = conn.storagePoolLookupByName("pool1")
    for name in ("old1.qcow2", "shared.raw"):
        pool.createXML(volume_xml(name), 0)
    conn.defineXML(PEER)
    dom = conn.defineXML(OLD1.format(name="old1"))
    dom.snapshotCreateXML(SNAPSHOT, 0)


@pytest.fixture
def old1(cluster):
    define_old1(cluster)
    return guest_named(cluster, "old1")


def test_the_plan_says_what_goes_and_why_each_other_disk_stays(cluster, old1):
    assert isinstance(cluster, SupportsUndefine) and isinstance(cluster, SupportsDestroy)
    assert cluster.capabilities.destroy
    plan = cluster.removal_plan(old1.id)
    assert plan.name == "old1" and plan.snapshots == ("before",) and not plan.why_not
    fates = {d.disk: (d.volume, d.removable, d.why_kept) for d in plan.disks}
    assert fates == {
        "vda": ("pool1/old1.qcow2", True, ""),
        "vdb": ("pool1/shared.raw", False, "also a disk of peer1 on pve1"),
        "sda": ("/iso/debian.iso", False, "removable media (cdrom), not the guest's own"),
        "vdc": ("/srv/elsewhere.img", False,
                "not a volume of a libvirt pool: libvirt cannot delete it"),
    }
    assert plan.removable[0].size == 16 * 2**20


def test_undefine_with_storage_removes_the_guest_its_snapshots_and_its_own_volume(
        cluster, old1):
    task = wait(cluster, cluster.undefine(old1.id, remove_storage=True))
    assert task.status is TaskStatus.OK, task.error
    assert task.progress == 1.0 and task.result == {"deleted": 1, "kept": 3}
    log = "\n".join(task.log)
    assert "with the metadata of 1 snapshot(s): before" in log
    assert "deleted vda (pool1/old1.qcow2, 16 MiB)" in log
    assert "kept vdb (pool1/shared.raw): also a disk of peer1 on pve1" in log
    assert all(g.name != "old1" for g in cluster.inventory().guests)
    assert volumes(cluster) >= {"shared.raw"} and "old1.qcow2" not in volumes(cluster)
    guest_named(cluster, "peer1")  # its disk is untouched and it is still defined


def test_a_guest_undefined_while_the_plan_reads_the_others_uses_no_disk(
        cluster, old1, monkeypatch):
    """A bulk delete removes guests side by side: old1 went between the listing of the
    domains and the reading of its definition, and peer1's delete failed with "reading
    old1: Domain not found" (CI). Gone, it uses no disk: peer1's plan goes on."""
    peer1 = guest_named(cluster, "peer1")
    read = type(cluster).describe

    def describe(self, host, dom):
        if dom.name() == "old1":
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
            self.cache(host).drop(dom.UUIDString())
        return read(self, host, dom)

    monkeypatch.setattr(type(cluster), "describe", describe)
    plan = cluster.removal_plan(peer1.id)
    assert [(d.disk, d.removable) for d in plan.disks] == [("vda", True)]


def test_keeping_the_disks_undefines_only(cluster, old1):
    task = wait(cluster, cluster.undefine(old1.id, remove_storage=False))
    assert task.status is TaskStatus.OK, task.error
    assert "kept vda (pool1/old1.qcow2): the disks were to stay" in task.log
    assert all(g.name != "old1" for g in cluster.inventory().guests)
    assert {"old1.qcow2", "shared.raw"} <= volumes(cluster)


def test_a_templates_disk_under_a_linked_clone_stays(cluster):
    template = guest_named(cluster, "tmpl-debian")
    made = wait(cluster, cluster.clone(template.id, CloneSpec("deb1", "pve1", full=False)))
    assert made.status is TaskStatus.OK, made.error
    [disk] = cluster.removal_plan(template.id).disks
    assert not disk.removable and disk.why_kept == "the backing file of pool1/deb1-vda.qcow2"
    task = wait(cluster, cluster.destroy(template.id))
    assert task.status is TaskStatus.OK, task.error
    assert "tmpl-debian.qcow2" in volumes(cluster)
    assert all(g.name != "tmpl-debian" for g in cluster.inventory().guests)


def test_a_running_guest_is_refused_with_the_reason_and_nothing_changes(cluster):
    web1 = guest_named(cluster, "web1")
    assert "web1 is running" in cluster.removal_plan(web1.id).why_not
    with pytest.raises(Conflict, match="web1 is running: shut it down first"):
        cluster.undefine(web1.id, remove_storage=True)
    assert "web1.qcow2" in volumes(cluster)
    assert guest_named(cluster, "web1").running
