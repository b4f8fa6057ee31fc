"""Tasks by UPID, followed until they stop; logs read for progress and downtime."""

from __future__ import annotations

import pytest

from vmconsole.backends.base import TaskStatus
from vmconsole.backends.proxmox.tasks import exit_status, parse_upid, progress_of


def test_a_running_task_is_followed_to_ok_with_its_log(backend, fakepve):
    fakepve.set(time_scale=0.01)
    fakepve.set(guest=101, start_secs=200)  # 2 s of wall time: read while it runs
    task = backend.start("qemu/101")
    assert task.status is TaskStatus.RUNNING and task.node == "pve2"
    assert task.user == "vmconsole@pve!ci"
    assert backend.task(task.id).status is TaskStatus.RUNNING
    finished = backend.wait(task.id, timeout=10)
    assert finished.status is TaskStatus.OK and finished.error is None
    assert finished.log[-1] == "TASK OK" and finished.duration is not None
    assert task.id in [t.id for t in backend.tasks()]


def test_a_task_that_ends_in_task_error_carries_pves_message(backend, fakepve):
    fakepve.call("fail", "POST", "/nodes/pve2/qemu/101/status/start", error="qemu_exited_code")
    task = backend.wait(backend.start("qemu/101").id, timeout=5)
    assert task.status is TaskStatus.ERROR
    assert task.error == "QEMU exited with code 1"
    assert task.log[-1] == "TASK ERROR: QEMU exited with code 1"


def test_a_container_shutdown_that_outlasts_its_timeout_fails(backend, fakepve):
    fakepve.set(guest=200, shutdown_secs=300)
    task = backend.wait(backend.shutdown("lxc/200", timeout=10).id, timeout=5)
    assert task.status is TaskStatus.ERROR and task.error


def test_recent_cluster_tasks_merge_with_ours(backend, fakepve):
    ours = backend.wait(backend.start("lxc/201").id, timeout=5)
    listed = backend.tasks()
    assert [t for t in listed if t.id == ours.id] == [ours]
    # fakepve's /cluster/tasks lists an example vzdump of VM 100 (ended OK).
    others = [t for t in listed if t.id != ours.id]
    assert [(t.operation, t.target, t.status) for t in others] == [
        ("backup", "100", TaskStatus.OK)]
    backend.inventory()
    assert [t.target for t in backend.tasks() if t.operation == "backup"] == ["qemu/100"]


def test_exit_status_ok_and_warnings_are_success():
    assert exit_status("OK") == (TaskStatus.OK, None)
    assert exit_status("WARNINGS: 2") == (TaskStatus.WARNING, None)
    assert exit_status("command 'qm start 100' failed: exit code 1") == (
        TaskStatus.ERROR, "command 'qm start 100' failed: exit code 1")


def test_upid_fields():
    info = parse_upid("UPID:pve1:0016A3C2:0A3F1E61:6750F2A1:qmigrate:100:root@pam:")
    assert info == {"node": "pve1", "starttime": str(0x6750F2A1), "type": "qmigrate",
                    "id": "100", "user": "root@pam"}
    assert parse_upid("not a upid") == {}


# A live migration's log as qemu-server 8 writes it (timestamps as PVE prints them).
QEMU_MIGRATION_LOG = """\
2024-05-02 10:14:01 starting migration of VM 100 to node 'pve2' (192.0.2.12)
2024-05-02 10:14:01 starting VM 100 on remote node 'pve2'
2024-05-02 10:14:03 start remote tunnel
2024-05-02 10:14:04 starting online/live migration on unix:/run/qemu-server/100.migrate
2024-05-02 10:14:04 set migration capabilities
2024-05-02 10:14:04 migration downtime limit: 100 ms
2024-05-02 10:14:04 migration cachesize: 256.0 MiB
2024-05-02 10:14:04 set migration parameters
2024-05-02 10:14:04 start migrate command to unix:/run/qemu-server/100.migrate
2024-05-02 10:14:05 migration active, transferred 112.3 MiB of 2.0 GiB VM-state, 113.0 MiB/s
2024-05-02 10:14:06 migration active, transferred 1.0 GiB of 2.0 GiB VM-state, 1.1 GiB/s
2024-05-02 10:14:07 average migration speed: 682.7 MiB/s - downtime 57 ms
2024-05-02 10:14:07 migration status: completed
2024-05-02 10:14:10 migration finished successfully (duration 00:00:09)""".splitlines()


def test_migration_progress_and_downtime_from_the_log():
    assert progress_of(QEMU_MIGRATION_LOG[:10]) == (112.3 / 2048, None)
    progress, downtime = progress_of(QEMU_MIGRATION_LOG)
    assert progress == 0.5 and downtime == 57


def test_disk_mirror_progress_from_the_log():
    lines = ["drive-scsi0: transferred 3.2 GiB of 32.0 GiB (10.00%) in 3s"]
    assert progress_of(lines) == (0.1, None)


@pytest.mark.parametrize("upid", [
    "UPID:short",
    "UPID:pve1:0016A3C2:0A3F1E61:6750F2AZ:qmigrate:100:root@pam:",  # a ValueError before
    "UPID:pve1:0016A3C2:0A3F1E61:6750F2A1:qmigrate:100:root@pam",  # PVE's ends in ':'
    "UPID:../x:0016A3C2:0A3F1E61:6750F2A1:qmigrate:100:root@pam:",  # a node in a path
])
def test_a_string_pves_upid_decode_refuses_has_no_fields(upid):
    assert parse_upid(upid) == {}
