"""Every simulated task carries the type Proxmox VE gives it in the UPID: qemu-server's
for a VM, pve-container's for a container, the HA manager's for a request to it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.sim.conftest import wait_task
from vmconsole.backends.base import MigrationMode, Task, TaskStatus
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.model import HARequest


def upid_type(task: Task) -> str:
    """UPID:node:pid:pstart:starttime:type:id:user:"""
    assert task.id.startswith("UPID:"), task.id
    return task.id.split(":")[5]


def run(lab: SimBackend, clock: ManualClock, call: Callable[[], Task]) -> str:
    task = call()
    done = wait_task(clock, lab, task.id)
    assert done.status is TaskStatus.OK, done.log
    return upid_type(done)


STEPS = ("start", "snapshot", "rollback", "delsnapshot", "start", "reboot", "shutdown",
         "migrate", "clone", "template")
VM_TYPES = ["qmstart", "qmsnapshot", "qmrollback", "qmdelsnapshot", "qmstart", "qmreboot",
            "qmshutdown", "qmigrate", "qmclone", "qmtemplate"]
CT_TYPES = ["vzstart", "vzsnapshot", "vzrollback", "vzdelsnapshot", "vzstart", "vzreboot",
            "vzshutdown", "vzmigrate", "vzclone", "vztemplate"]


# test1 (VM 103, stopped on pve1) and proxy1 (CT 201, running on pve2): neither is HA.
@pytest.mark.parametrize(("guest", "other_node", "expected"),
                         [("qemu/103", "pve2", VM_TYPES), ("lxc/201", "pve1", CT_TYPES)])
def test_every_operation_is_logged_under_its_proxmox_type(
        lab: SimBackend, clock: ManualClock, guest: str, other_node: str,
        expected: list[str]) -> None:
    if guest == "lxc/201":  # running: stop it first
        assert run(lab, clock, lambda: lab.stop(guest)) == "vzstop"
    calls: dict[str, Callable[[], Task]] = {
        "start": lambda: lab.start(guest),
        "snapshot": lambda: lab.snapshot_create(guest, "before"),
        "rollback": lambda: lab.snapshot_rollback(guest, "before"),  # leaves it stopped
        "delsnapshot": lambda: lab.snapshot_delete(guest, "before"),
        "reboot": lambda: lab.reboot(guest),
        "shutdown": lambda: lab.shutdown(guest, 120),
        "migrate": lambda: lab.migrate(guest, other_node, MigrationMode.OFFLINE),
        "clone": lambda: lab.clone(guest, CloneSpec(name="copy", node=other_node)),
        "template": lambda: lab.convert_to_template(guest),
    }
    assert [run(lab, clock, calls[step]) for step in STEPS] == expected


def test_a_container_clone_from_a_template_is_a_vzclone(lab: SimBackend,
                                                        clock: ManualClock) -> None:
    task = lab.clone("lxc/9001", CloneSpec(name="ct2", node="pve1"))
    assert ":vzclone:9001:root@pam:" in task.id  # the source's id, as Proxmox logs it


def test_requests_to_the_ha_manager_are_its_own_tasks(lab: SimBackend,
                                                      clock: ManualClock) -> None:
    # web1 (VM 100, pve1) and dns1 (CT 200, pve3) are HA-managed and running.
    assert upid_type(lab.shutdown("qemu/100")) == "hastop"
    assert upid_type(lab.stop("lxc/200")) == "hastop"
    clock.advance(60)
    lab.inventory()
    assert upid_type(lab.start("qemu/100")) == "hastart"
    clock.advance(60)
    lab.inventory()
    migration = lab.migrate("qemu/100", "pve2", MigrationMode.LIVE)
    assert upid_type(migration) == "hamigrate"
    assert migration.log[0].startswith("Requesting HA migration for VM 100 (web1) to node pve2")
    assert upid_type(lab.reboot("qemu/101")) == "qmreboot"  # no HA reboot in Proxmox


def test_an_ha_resource_change_is_no_proxmox_task(lab: SimBackend) -> None:
    task = lab.ha_set("qemu/103", HASettings(HARequest.STOPPED))
    assert task.status is TaskStatus.OK and not task.id.startswith("UPID:")
