"""Backups against fakepve: the backup storages of a guest's node, its backups listed
from `GET /nodes/{node}/storage/{storage}/content?content=backup&vmid=N`, deletion, a
container restored by `pct restore` to a new id; and what fakepve 0.5.0 (the newest on
PyPI) does not do: write an archive for `POST /nodes/{node}/vzdump`, or restore a VM from
one (`POST /nodes/{node}/qemu` with `archive=`)."""

from __future__ import annotations

import pytest

from tests.proxmox.conftest import LAB
from vmconsole.backends.backups import BackupSpec, RestoreSpec, SupportsBackups
from vmconsole.backends.base import BackendError, InvalidInput, TaskStatus

VM_BACKUP = "backup/vzdump-qemu-100-2026_11_30-01_00_00.vma.zst"
CT_BACKUP = "backup/vzdump-lxc-201-2026_11_29-01_00_00.tar.lzo"
# PVE's default `local`: a directory for ISO images, templates and backups, on every node.
LOCAL = {"type": "dir", "path": "/var/lib/vz", "active": 1, "content": "iso,vztmpl,backup",
         "volumes": {
             VM_BACKUP: {"content": "backup", "format": "vma.zst", "size": 734003200,
                         "ctime": 1764464400, "vmid": 100},
             "backup/vzdump-qemu-100-2026_11_29-01_00_00.vma.gz": {
                 "content": "backup", "format": "vma.gz", "size": 901775360,
                 "ctime": 1764378000, "vmid": 100},
             CT_BACKUP: {"content": "backup", "format": "tar.lzo", "size": 104857600,
                         "ctime": 1764378000, "vmid": 201}}}


@pytest.fixture
def seeded(fakepve):
    fakepve.send("reset", seed={**LAB, "storages": {**LAB["storages"], "local": LOCAL}})
    return fakepve


def done(backend, task):
    finished = backend.wait(task.id, timeout=10)
    assert finished.status is TaskStatus.OK, finished.error
    return finished


def test_the_backups_of_a_guest_newest_first_from_its_nodes_backup_storage(seeded, backend):
    assert isinstance(backend, SupportsBackups)
    options = backend.backup_options("qemu/100")
    assert options.storages == ("local",)  # ceph and local-lvm take no backups
    listed = backend.backups("qemu/100")
    assert [b.id for b in listed] == [f"local:{VM_BACKUP}",
                                      "local:backup/vzdump-qemu-100-2026_11_29-01_00_00.vma.gz"]
    assert [b.compression for b in listed] == ["zstd", "gzip"]
    assert listed[0].size == 734003200 and listed[0].created == 1764464400
    assert [b.id for b in backend.backups("lxc/201")] == [f"local:{CT_BACKUP}"]
    assert backend.backups("qemu/101") == []


def test_delete_removes_the_volume(seeded, backend):
    done(backend, backend.backup_delete("qemu/100", f"local:{VM_BACKUP}"))
    assert [b.id for b in backend.backups("qemu/100")] == [
        "local:backup/vzdump-qemu-100-2026_11_29-01_00_00.vma.gz"]


def test_a_container_is_restored_to_a_new_id(seeded, backend):
    task = done(backend, backend.backup_restore("lxc/201", RestoreSpec(f"local:{CT_BACKUP}",
                                                                       vmid=301, storage="ceph")))
    assert task.id.split(":")[5] == "vzrestore" and task.result["new_id"] == "lxc/301"
    assert seeded.guest(301) is not None
    [body] = seeded.requests("POST", "/nodes/pve3/lxc")
    assert body["ostemplate"] == f"local:{CT_BACKUP}" and body["restore"] == "1"
    assert body["storage"] == "ceph"


def test_overwriting_a_running_guest_is_refused_before_any_request(seeded, backend):
    with pytest.raises(InvalidInput) as refused:
        backend.backup_restore("qemu/100", RestoreSpec(f"local:{VM_BACKUP}", overwrite=True))
    assert "stop it first" in refused.value.fields["overwrite"]
    with pytest.raises(InvalidInput) as taken:
        backend.backup_restore("qemu/100", RestoreSpec(f"local:{VM_BACKUP}", vmid=101))
    assert taken.value.fields == {"vmid": "id 101 is taken"}
    assert seeded.requests("POST", "/nodes/pve1/qemu") == []


def test_vzdump_and_a_vm_restore_send_what_proxmox_documents(seeded, backend):
    """fakepve 0.5.0 answers `POST /nodes/{node}/vzdump` only from the API schema (a UPID
    whose task ends OK at once, no archive written, no `backup` lock) and refuses a VM
    restore from an archive: here the requests and the task's course are checked; the
    archive's arrival is the simulator's and the lab's to show."""
    task = done(backend, backend.backup("qemu/100", BackupSpec("local")))
    assert task.id.split(":")[5] == "vzdump" and task.operation == "backup"
    [body] = seeded.requests("POST", "/nodes/pve1/vzdump")
    assert body == {"vmid": "100", "storage": "local", "mode": "snapshot", "compress": "zstd"}
    with pytest.raises(BackendError, match="restoring an archive is not supported"):
        backend.backup_restore("qemu/100", RestoreSpec(f"local:{VM_BACKUP}", vmid=150))
    [body] = seeded.requests("POST", "/nodes/pve1/qemu")
    assert body["archive"] == f"local:{VM_BACKUP}" and body["vmid"] == "150"
