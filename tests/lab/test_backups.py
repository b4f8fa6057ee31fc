"""Backups on a real QEMU (TCG) guest under a real libvirtd: a live push backup
(virDomainBackupBegin) of a disk on the iSCSI `san` LUN to a qcow2 file in the node's
directory pool, while the guest keeps running; the backup listed; a new guest defined
from it and started; the backup deleted.

A one-node lab of its own with one HA guest (the lab gives an HA guest a raw disk on a
`san` LUN), built once for the module."""

from __future__ import annotations

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
from vmconsole.model import GuestStatus  # noqa: E402

from ..libvirt.conftest import wait  # noqa: E402

LAB = LabShape(ha_guests=1)


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
