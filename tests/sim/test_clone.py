"""Clones and templates: timing, new identity, refusals per field, failed clone cleanup."""

from __future__ import annotations

import pytest

from tests.sim.conftest import wait_task
from vmconsole.backends.abilities import FaultKind
from vmconsole.backends.base import Conflict, InvalidInput, NotSupported, TaskStatus
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.model import GuestStatus


def test_full_clone_from_a_template_takes_tens_of_seconds(lab: SimBackend,
                                                          clock: ManualClock) -> None:
    vmid = lab.next_vmid()
    assert vmid == 104
    task = lab.clone("qemu/9000", CloneSpec(name="web2", node="pve2"))
    new_id = f"qemu/{vmid}"
    assert task.result["new_id"] == new_id
    guest = lab.inventory().guest(new_id)  # there from the first moment, locked
    assert guest is not None and guest.lock == "clone" and guest.node == "pve2"
    assert guest.status is GuestStatus.STOPPED and not guest.template
    clock.advance(20)
    midway = lab.task(task.id)
    assert midway.progress is not None and 0.2 < midway.progress < 0.5
    done = wait_task(clock, lab, task.id)
    assert done.status is TaskStatus.OK
    assert 20 < (done.duration or 0) < 90  # 10 GiB at the LUN's 180 MiB/s
    assert sum("transferred" in line for line in done.log) == 10
    guest = lab.inventory().guest(new_id)
    assert guest is not None and guest.lock is None and guest.name == "web2"
    source, clone = lab.sim.guests["qemu/9000"], lab.sim.guests[new_id]
    assert clone.mac != source.mac and clone.uuid != source.uuid
    assert clone.ip not in {g.ip for g in lab.sim.guests.values() if g is not clone}
    assert lab.next_vmid() == 105


def test_linked_clone_is_near_instant_from_a_template_on_thin_storage(
        lab: SimBackend, clock: ManualClock) -> None:
    task = lab.clone("lxc/9001", CloneSpec(name="ct-linked", node="pve1", full=False))
    done = wait_task(clock, lab, task.id, step=0.1)
    assert done.status is TaskStatus.OK and (done.duration or 0) < 3


def test_clone_refusals_name_their_fields(lab: SimBackend) -> None:
    with pytest.raises(InvalidInput) as linked_lvm:
        lab.clone("qemu/9000", CloneSpec(name="x1", node="pve1", full=False))
    assert "linked clones" in linked_lvm.value.fields["storage"]
    with pytest.raises(InvalidInput) as local_elsewhere:
        lab.clone("lxc/9001", CloneSpec(name="x2", node="pve2", full=False))
    assert "shared storage" in local_elsewhere.value.fields["node"]
    with pytest.raises(InvalidInput) as many:
        lab.clone("qemu/9000", CloneSpec(name="bad name!", node="pve9", vmid=5))
    assert set(many.value.fields) == {"name", "node", "vmid"}
    with pytest.raises(InvalidInput) as not_template:
        lab.clone("qemu/103", CloneSpec(name="x3", node="pve1", full=False))
    assert "templates" in not_template.value.fields["full"]
    with pytest.raises(Conflict, match="named 'web1' already exists"):
        lab.clone("qemu/9000", CloneSpec(name="web1", node="pve1"))
    with pytest.raises(Conflict, match="VM 100 already exists"):
        lab.clone("qemu/9000", CloneSpec(name="x4", node="pve1", vmid=100))
    with pytest.raises(Conflict, match="running"):
        lab.clone("qemu/101", CloneSpec(name="x5", node="pve2"))


def test_a_failed_clone_leaves_nothing_behind(lab: SimBackend, clock: ManualClock) -> None:
    before = {g.id for g in lab.inventory().guests}
    used_before = {s.id: s.used for s in lab.inventory().storages}
    task = lab.clone("qemu/9000", CloneSpec(name="doomed", node="pve2"))
    clock.advance(15)
    lab.inject_fault("pve2", FaultKind.LOSE_STORAGE)
    done = wait_task(clock, lab, task.id)
    assert done.status is TaskStatus.ERROR
    assert "storage 'san'" in (done.error or "")
    assert any("removing the partially created" in line for line in done.log)
    inventory = lab.inventory()
    assert {g.id for g in inventory.guests} == before
    assert {s.id: s.used for s in inventory.storages} == used_before


def test_convert_to_template_only_when_stopped(lab: SimBackend, clock: ManualClock) -> None:
    with pytest.raises(Conflict, match="running"):
        lab.convert_to_template("lxc/201")
    with pytest.raises(Conflict, match="HA managed"):
        lab.convert_to_template("qemu/100")
    task = lab.convert_to_template("qemu/103")
    assert lab.inventory().guest("qemu/103").lock == "template"  # type: ignore[union-attr]
    assert wait_task(clock, lab, task.id).status is TaskStatus.OK
    assert lab.inventory().guest("qemu/103").template  # type: ignore[union-attr]
    with pytest.raises(NotSupported, match="template"):
        lab.start("qemu/103")
