"""Backups on the simulator: vzdump's modes, time in proportion to the data and the
slower storage, restore to a new id or over a stopped guest, delete."""

from __future__ import annotations

import pytest

from tests.sim.conftest import wait, wait_task
from vmconsole.backends.backups import (
    BackupMode,
    BackupSpec,
    Compression,
    RestoreSpec,
    SupportsBackups,
)
from vmconsole.backends.base import Conflict, InvalidInput, TaskStatus
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.model import GuestStatus


def backed_up(lab: SimBackend, clock: ManualClock, guest: str,
              spec: BackupSpec | None = None) -> float:
    task = wait_task(clock, lab, lab.backup(guest, spec or BackupSpec("local")).id, step=0.5)
    assert task.status is TaskStatus.OK, task.error
    return task.duration or 0.0


def status(lab: SimBackend, guest_id: str) -> GuestStatus:
    return next(g for g in lab.inventory().guests if g.id == guest_id).status


def test_a_backup_lands_on_the_nodes_backup_storage_and_is_listed(
        lab: SimBackend, clock: ManualClock) -> None:
    assert isinstance(lab, SupportsBackups)
    options = lab.backup_options("qemu/100")
    assert options.storages == ("local",)  # san and local-lvm do not take backups
    backed_up(lab, clock, "qemu/100")
    (backup,) = lab.backups("qemu/100")
    assert backup.storage == "local" and backup.mode == "snapshot"
    assert backup.id.startswith("local:backup/vzdump-qemu-100-")
    assert backup.id.endswith(".vma.zst")
    assert 0 < backup.size < 10 * 2**30
    assert lab.backups("qemu/101") == []


def test_time_follows_the_data_and_the_compression(lab: SimBackend,
                                                   clock: ManualClock) -> None:
    small = backed_up(lab, clock, "qemu/103")
    big = backed_up(lab, clock, "qemu/101")
    (small_size,) = (b.size for b in lab.backups("qemu/103"))
    (big_size,) = (b.size for b in lab.backups("qemu/101"))
    assert big_size > small_size  # the data each guest's disks hold, compressed alike
    assert big / small == pytest.approx(big_size / small_size, rel=0.05)
    gzip = backed_up(lab, clock, "qemu/103", BackupSpec("local", compression=Compression.GZIP))
    assert gzip > 2 * small  # gzip is single-threaded
    sizes = {b.compression: b.size for b in lab.backups("qemu/103")}
    assert sizes["gzip"] > sizes["zstd"]


def test_a_refused_storage_or_a_locked_guest_leaves_no_task(lab: SimBackend,
                                                             clock: ManualClock) -> None:
    before = len(lab.tasks())
    with pytest.raises(InvalidInput) as refused:
        lab.backup("qemu/100", BackupSpec("san"))
    assert "storage" in refused.value.fields
    task = lab.backup("qemu/100", BackupSpec("local"))
    with pytest.raises(Conflict, match="busy"):
        lab.backup("qemu/100", BackupSpec("local"))
    assert len(lab.tasks()) == before + 1
    wait_task(clock, lab, task.id)


def test_stop_mode_shuts_the_guest_down_and_starts_it_again(lab: SimBackend,
                                                             clock: ManualClock) -> None:
    assert status(lab, "lxc/201") is GuestStatus.RUNNING
    wait(clock, lab, 30)  # booted: it acts on the shutdown request
    task = lab.backup("lxc/201", BackupSpec("local", mode=BackupMode.STOP))
    seen = set()
    while not lab.task(task.id).status.done:
        wait(clock, lab, 0.5, step=0.5)
        seen.add(status(lab, "lxc/201"))
    assert GuestStatus.STOPPED in seen
    done = lab.task(task.id)
    assert done.status is TaskStatus.OK
    assert status(lab, "lxc/201") is GuestStatus.RUNNING
    wait(clock, lab, 30)  # booted: it acts on the shutdown request


def test_suspend_mode_pauses_the_guest_for_the_copy(lab: SimBackend,
                                                    clock: ManualClock) -> None:
    wait(clock, lab, 30)  # booted: it answers probes
    assert lab.probe("qemu/102") is not None
    task = lab.backup("qemu/102", BackupSpec("local", mode=BackupMode.SUSPEND))
    wait(clock, lab, 1)
    assert lab.probe("qemu/102") is None
    wait_task(clock, lab, task.id)
    assert lab.probe("qemu/102") is not None


def test_restore_to_a_new_id_and_over_the_stopped_guest(lab: SimBackend,
                                                        clock: ManualClock) -> None:
    backed_up(lab, clock, "qemu/102")
    (backup,) = lab.backups("qemu/102")
    task = lab.backup_restore("qemu/102", RestoreSpec(backup.id, vmid=150))
    assert "qemu/150" in {g.id for g in lab.inventory().guests}  # there, locked, at once
    done = wait_task(clock, lab, task.id)
    assert done.status is TaskStatus.OK and done.result["new_id"] == "qemu/150"
    assert done.duration and done.duration > 5
    with pytest.raises(InvalidInput) as taken:
        lab.backup_restore("qemu/102", RestoreSpec(backup.id, vmid=150))
    assert taken.value.fields == {"vmid": "id 150 is taken"}
    with pytest.raises(InvalidInput) as running:
        lab.backup_restore("qemu/102", RestoreSpec(backup.id, overwrite=True))
    assert "stop it first" in running.value.fields["overwrite"]
    wait_task(clock, lab, lab.stop("qemu/102").id)
    over = wait_task(clock, lab, lab.backup_restore("qemu/102", RestoreSpec(backup.id,
                                                                     overwrite=True)).id)
    assert over.status is TaskStatus.OK


def test_delete_removes_the_archive_and_frees_its_space(lab: SimBackend,
                                                        clock: ManualClock) -> None:
    def used() -> int:
        return next(s.used for s in lab.inventory().storages
                    if s.name == "local" and s.node == "pve1")
    empty = used()
    backed_up(lab, clock, "qemu/100")
    (backup,) = lab.backups("qemu/100")
    assert used() == empty + backup.size
    wait_task(clock, lab, lab.backup_delete("qemu/100", backup.id).id)
    assert lab.backups("qemu/100") == [] and used() == empty
