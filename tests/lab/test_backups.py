"""Backups on a real QEMU (TCG) guest under a real libvirtd: a live push backup
(virDomainBackupBegin) of a disk on the iSCSI `san` LUN to a qcow2 file in the node's
directory pool, while the guest keeps running; the backup listed; a new guest defined
from it and started; the backup deleted. A zstd-compressed backup, its restore as a new
guest deleted with its volume, and a restore over the shut-off guest.

A one-node lab of its own with one HA guest (the lab gives an HA guest a raw disk on a
`san` LUN) and one container, built once for the module."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.lab.built import BuiltLab, LabShape, until
from tests.lab.requires import skip_unless_a_lab_can_be_built

pytestmark = [pytest.mark.lab, pytest.mark.timeout(400)]
skip_unless_a_lab_can_be_built()

from vmconsole.backends.backups import BackupSpec, Compression, RestoreSpec  # noqa: E402
from vmconsole.backends.base import TaskStatus  # noqa: E402
from vmconsole.backends.libvirt import open_libvirt  # noqa: E402
from vmconsole.lab.guests import POOL, SAN_POOL  # noqa: E402
from vmconsole.model import GuestKind, GuestStatus  # noqa: E402

from ..libvirt.conftest import wait  # noqa: E402

LAB = LabShape(containers=1, ha_guests=1)


@pytest.fixture(scope="module")
def lab(built_lab: BuiltLab):
    backend = open_libvirt(built_lab.cluster)
    try:
        vm1 = until("vm1 running", lambda: next(
            (g for g in backend.inventory().guests
             if g.name == "vm1" and g.status is GuestStatus.RUNNING), None), 90, every=0.2)
        yield backend, vm1.id
    finally:
        backend.close()


def ok(backend, task, timeout=180):
    ended = wait(backend, task, timeout=timeout)
    assert ended.status is TaskStatus.OK, (ended.error, ended.log)
    return ended


def test_a_push_backup_from_the_san_lun_restores_as_a_new_guest(lab):
    backend, vm1 = lab
    _host, dom = backend.locate(vm1)
    assert f"pool='{SAN_POOL}'" in dom.XMLDesc(0)  # its disk is a LUN of the iSCSI target
    options = backend.backup_options(vm1)
    assert POOL in options.storages and not options.why_not

    started = backend.backup(vm1, BackupSpec(POOL, compression=Compression.NONE))
    seen = []
    while not (now := backend.task(started.id)).status.done:
        seen.append(now.progress)
        assert dom.isActive()  # the guest runs on through a push backup
        time.sleep(0.1)
    assert now.status is TaskStatus.OK, (now.error, now.log)
    assert now.progress == 1.0
    [listed] = backend.backups(vm1)
    assert listed.storage == POOL and listed.size > 0 and listed.id == now.result["backup"]

    restored = ok(backend, backend.backup_restore(vm1, RestoreSpec(listed.id,
                                                                   name="vm1-restored")))
    new_id = str(restored.result["new_id"])
    assert new_id != vm1
    new = until("vm1-restored in the inventory", lambda: next(
        (g for g in backend.inventory().guests if g.id == new_id), None), 30)
    assert new.name == "vm1-restored" and new.status is GuestStatus.STOPPED
    _host, new_dom = backend.locate(new_id)
    xml = new_dom.XMLDesc(0)
    assert "volume='vm1-restored-" in xml and SAN_POOL not in xml  # its own copy
    ok(backend, backend.start(new_id))
    until("vm1-restored running", lambda: backend.inventory().guest(new_id).status
          is GuestStatus.RUNNING, 60)

    ok(backend, backend.backup_delete(vm1, listed.id))
    assert backend.backups(vm1) == []


def test_a_compressed_backup_restores_as_a_copy_that_is_deleted_then_over_the_guest(lab):
    """zstd qcow2 clusters after the push backup; its restore as a new guest deleted
    with its real volume; then, the guest out of HA and shut off, a restore over it
    that swaps its disk for a copy (the LUN it left stays: libvirt cannot delete one)."""
    backend, vm1 = lab
    options = backend.backup_options(vm1)
    assert Compression.ZSTD in options.compressions
    taken = ok(backend, backend.backup(vm1, BackupSpec(POOL, compression=Compression.ZSTD)))
    assert any("compressing vda" in line for line in taken.log)
    backup_id = str(taken.result["backup"])
    [listed] = [b for b in backend.backups(vm1) if b.id == backup_id]
    assert listed.compression == "zstd"
    conn = backend.host_named(listed.node).connection()
    prefix = backup_id.partition(":")[2]
    volume = conn.storagePoolLookupByName(POOL).storageVolLookupByName(f"{prefix}.vda.zstd.qcow2")
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", volume.path()],
                                     capture_output=True, text=True, check=True).stdout)
    assert info["format-specific"]["data"]["compression-type"] == "zstd"

    # Delete on a real domain and volume: a restore of the backup as a new guest.
    copy = ok(backend, backend.backup_restore(vm1, RestoreSpec(backup_id, name="vm1-copy")))
    copy_id = str(copy.result["new_id"])
    until("vm1-copy in the inventory", lambda: backend.inventory().guest(copy_id), 30)
    plan = backend.removal_plan(copy_id)
    [disk] = plan.disks
    assert disk.removable and disk.volume == f"{POOL}/vm1-copy-vda.qcow2"
    gone = ok(backend, backend.undefine(copy_id, remove_storage=True))
    assert gone.result == {"deleted": 1, "kept": 0}
    assert "vm1-copy-vda.qcow2" not in conn.storagePoolLookupByName(POOL).listVolumes()
    assert "vm1-copy" not in conn.listDefinedDomains()
    until("vm1-copy gone from the inventory",
          lambda: backend.inventory().guest(copy_id) is None, 30)
    assert f"{prefix}.vda.zstd.qcow2" in conn.storagePoolLookupByName(POOL).listVolumes()

    # Over the guest: out of HA (else its manager starts it again), shut off, restored.
    ok(backend, backend.ha_remove(vm1))
    ok(backend, backend.stop(vm1))
    until("vm1 shut off", lambda: backend.inventory().guest(vm1).status
          is GuestStatus.STOPPED, 60)
    assert backend.backup_options(vm1).restore_overwrite_why_not == ""
    over = ok(backend, backend.backup_restore(vm1, RestoreSpec(backup_id, overwrite=True)))
    assert any(f"kept the old vda ({SAN_POOL}/" in line and "libvirt cannot delete" in line
               for line in over.log), over.log
    _host, dom = backend.locate(vm1)
    xml = dom.XMLDesc(0)
    assert f"pool='{POOL}'" in xml and "volume='vm1-vda.restore-" in xml
    assert f"pool='{SAN_POOL}'" not in xml
    ok(backend, backend.start(vm1))
    until("vm1 running on its restored disk", lambda: backend.inventory().guest(vm1).status
          is GuestStatus.RUNNING, 60)


def test_a_stopped_container_is_deleted_by_libvirts_lxc_driver(lab):
    """LXC has no snapshots, managed save or volumes: the undefine asks for none."""
    backend, _vm1 = lab
    ct = until("the running container", lambda: next(
        (g for g in backend.inventory().guests
         if g.kind is GuestKind.CT and g.status is GuestStatus.RUNNING), None), 60)
    ok(backend, backend.stop(ct.id))
    until("the container stopped", lambda: backend.inventory().guest(ct.id).status
          is GuestStatus.STOPPED, 60)
    plan = backend.removal_plan(ct.id)
    assert plan.disks == () and plan.snapshots == () and not plan.why_not
    ok(backend, backend.destroy(ct.id))
    until("the container gone", lambda: backend.inventory().guest(ct.id) is None, 30)
