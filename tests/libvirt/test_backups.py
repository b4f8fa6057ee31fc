"""Backups on libvirt's test driver, which has no backup API: what the console offers
(a live push backup, uncompressed, to the host's directory pool; restore by name) and
libvirt's own refusal, in the task the user sees. The lab backs up and restores for
real (tests/lab/test_backups.py)."""

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from vmconsole.backends.backups import BackupSpec, Compression, SupportsBackups
from vmconsole.backends.base import InvalidInput, TaskStatus

from .conftest import guest_named, wait


def test_the_test_driver_refuses_a_backup_in_libvirts_words(cluster):
    assert isinstance(cluster, SupportsBackups)
    web1 = guest_named(cluster, "web1")
    options = cluster.backup_options(web1.id)
    assert options.storages == ("pool1",)
    assert [str(m) for m in options.modes] == ["snapshot"]
    assert [str(c) for c in options.compressions] == ["none"]
    assert options.restore_names and not options.restore_ids and not options.restore_overwrite
    task = wait(cluster, cluster.backup(web1.id, BackupSpec("pool1", compression=Compression.NONE)))
    assert task.status is TaskStatus.ERROR
    assert "not supported" in (task.error or "")
    assert cluster.backups(web1.id) == []


def test_a_stopped_guest_is_refused_before_any_task(cluster):
    idle = guest_named(cluster, "idle1")
    with pytest.raises(InvalidInput) as refused:
        cluster.backup(idle.id, BackupSpec("pool1", compression=Compression.NONE))
    assert "running guest only" in refused.value.fields["mode"]
