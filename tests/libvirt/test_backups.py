"""Backups on libvirt's test driver, which has no backup API: what the console offers
(a live push backup, uncompressed or zstd-compressed, to the host's directory pool, on
a QEMU host only; restore by name or over the shut-off guest); a restore over the guest
from the files a backup leaves, and one that fails midway. The lab backs up and
restores for real (tests/lab/test_backups.py)."""

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from vmconsole.backends.backups import BackupSpec, Compression, RestoreSpec, SupportsBackups
from vmconsole.backends.base import InvalidInput, TaskStatus
from vmconsole.backends.libvirt.connection import Host

from .conftest import guest_named, wait


def test_a_backup_is_not_offered_by_a_driver_without_the_backup_api(cluster):
    """A tester's finding: on `test:///default` the form offered a backup, whose task
    then failed "not supported by the connection driver: virDomainBackupBegin". The
    form says why instead, and the backend refuses it before any task; restores, which
    need no backup API, stay offered."""
    assert isinstance(cluster, SupportsBackups)
    web1 = guest_named(cluster, "web1")
    options = cluster.backup_options(web1.id)
    assert options.why_not == ("test hosts take no backups: libvirt's backup API "
                               "(virDomainBackupBegin) is QEMU's only")
    assert options.storages == ("pool1",)
    assert [str(m) for m in options.modes] == ["snapshot"]
    assert [str(c) for c in options.compressions] == ["none", "zstd"]  # a local URI
    assert options.restore_names and not options.restore_ids and options.restore_overwrite
    assert "web1 is running: shut it down first" in options.restore_overwrite_why_not
    with pytest.raises(InvalidInput) as refused:
        cluster.backup(web1.id, BackupSpec("pool1", compression=Compression.NONE))
    assert refused.value.fields["mode"] == options.why_not
    assert cluster.tasks() == [] and cluster.backups(web1.id) == []


def test_a_stopped_guest_is_refused_before_any_task(cluster, monkeypatch):
    # As on a QEMU host, the one driver with the backup API.
    monkeypatch.setattr(Host, "driver", property(lambda _host: "qemu"))
    idle = guest_named(cluster, "idle1")
    with pytest.raises(InvalidInput) as refused:
        cluster.backup(idle.id, BackupSpec("pool1", compression=Compression.NONE))
    assert "running guest only" in refused.value.fields["mode"]


COLD1 = """<domain type='test'><name>cold1</name><memory unit='MiB'>256</memory>
<os><type arch='x86_64'>hvm</type></os><devices>
  <disk type='file' device='disk'><driver name='qemu' type='raw'/>
    <source file='/pool1/cold1.raw'/><target dev='vda'/></disk>
  <disk type='volume' device='disk'><driver name='qemu' type='raw'/>
    <source pool='pool1' volume='cold1-data.raw'/><target dev='vdb'/></disk>
</devices></domain>"""


def cold1_with_a_backup(cluster, vdb_gib: int = 1):
    """A shut-off guest, and in pool1 the files a compressed push backup of it leaves
    (the test driver has no backup API, so they are made as the backup names them)."""
    conn = cluster.host_named("pve1").connection()
    pool = conn.storagePoolLookupByName("pool1")
    dom = conn.defineXML(COLD1)
    prefix = f"{dom.UUIDString()}.20261130T050000"
    for name, gib in (("cold1.raw", 1), ("cold1-data.raw", 1), (f"{prefix}.vda.zstd.qcow2", 1),
                      (f"{prefix}.vdb.zstd.qcow2", vdb_gib), (f"{prefix}.domain.xml", 0)):
        pool.createXML(f"<volume><name>{name}</name><capacity unit='GiB'>{gib}</capacity>"
                       "<allocation unit='MiB'>8</allocation></volume>", 0)
    return guest_named(cluster, "cold1"), f"pool1:{prefix}"


def pool1(cluster) -> set[str]:
    conn = cluster.host_named("pve1").connection()
    return {v.name() for v in conn.storagePoolLookupByName("pool1").listAllVolumes(0)}


def test_a_restore_over_the_guest_swaps_its_disks_for_copies_and_drops_the_old_ones(cluster):
    cold1, backup_id = cold1_with_a_backup(cluster)
    [listed] = cluster.backups(cold1.id)
    assert listed.id == backup_id and listed.compression == "zstd"
    assert cluster.backup_options(cold1.id).restore_overwrite_why_not == ""
    task = wait(cluster, cluster.backup_restore(cold1.id, RestoreSpec(backup_id, overwrite=True)))
    assert task.status is TaskStatus.OK, (task.error, task.log)
    xml = cluster.host_named("pve1").connection().lookupByName("cold1").XMLDesc(0)
    assert "volume='cold1-vda.restore-" in xml and "volume='cold1-vdb.restore-" in xml
    assert "cold1.raw" not in xml and "type='qcow2'" in xml
    assert guest_named(cluster, "cold1").id == cold1.id  # the same guest: its UUID stays
    left = pool1(cluster)
    assert "cold1.raw" not in left and "cold1-data.raw" not in left  # the old disks went
    assert {f"{backup_id[6:]}.vda.zstd.qcow2", f"{backup_id[6:]}.domain.xml"} <= left
    assert any("deleted the old vda (pool1/cold1.raw)" in line for line in task.log)


def test_a_restore_over_that_fails_midway_leaves_the_guest_as_it_was(cluster):
    # vdb's copy asks for more than pool1 has free: libvirt refuses it after vda's copy
    cold1, backup_id = cold1_with_a_backup(cluster, vdb_gib=500)
    before = pool1(cluster)
    xml = cluster.host_named("pve1").connection().lookupByName("cold1").XMLDesc(0)
    task = wait(cluster, cluster.backup_restore(cold1.id, RestoreSpec(backup_id, overwrite=True)))
    assert task.status is TaskStatus.ERROR and "free space" in (task.error or "")
    assert any(line.startswith("removed the copy pool1/cold1-vda.restore-")
               for line in task.log)
    assert pool1(cluster) == before
    assert cluster.host_named("pve1").connection().lookupByName("cold1").XMLDesc(0) == xml


def test_a_restore_over_a_running_guest_or_one_with_snapshots_is_refused(cluster):
    cold1, backup_id = cold1_with_a_backup(cluster)
    dom = cluster.host_named("pve1").connection().lookupByName("cold1")
    dom.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>", 0)
    with pytest.raises(InvalidInput) as refused:
        cluster.backup_restore(cold1.id, RestoreSpec(backup_id, overwrite=True))
    assert "cold1 has 1 snapshot(s)" in refused.value.fields["overwrite"]
    web1 = guest_named(cluster, "web1")
    with pytest.raises(InvalidInput, match="web1 is running: shut it down first"):
        cluster.backup_restore(web1.id, RestoreSpec("pool1:x", overwrite=True))
