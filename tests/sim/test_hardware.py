"""Hardware changes in the simulator: what the inventory shows after each, when a
running VM takes it (its next start, as Proxmox without cpu/memory hotplug), and the
refusals a user reads."""

from __future__ import annotations

import pytest

from tests.sim.conftest import wait_task
from vmconsole.backends.base import Conflict, InvalidInput, NotSupported, TaskStatus
from vmconsole.backends.hardware import GiB, MiB, SupportsHardware, Takes


def test_the_simulator_offers_hardware_changes(lab):
    assert isinstance(lab, SupportsHardware)


def test_a_running_vm_takes_cores_and_memory_at_its_next_start(lab, clock):
    hw = lab.hardware("qemu/100")
    assert (hw.running, hw.vcpus, hw.memory) == (True, 2, 2 * GiB)
    assert hw.vcpus_takes(4) is Takes.NEXT_BOOT and hw.memory_takes(3 * GiB) is Takes.NEXT_BOOT
    task = lab.set_vcpus("qemu/100", 4)
    assert task.status is TaskStatus.OK and "pending until its next start" in task.log[0]
    lab.set_memory("qemu/100", 3 * GiB)
    guest = lab.inventory().guest("qemu/100")
    assert (guest.maxcpu, guest.maxmem) == (2, 2 * GiB)  # still what it booted with
    assert lab.hardware("qemu/100").pending == ("cores: 4", "memory: 3072 MiB")
    wait_task(clock, lab, lab.reboot("qemu/100").id)
    guest = lab.inventory().guest("qemu/100")
    assert (guest.maxcpu, guest.maxmem) == (4, 3 * GiB)
    assert lab.hardware("qemu/100").pending == ()


def test_a_container_takes_cores_and_memory_at_once(lab):
    hw = lab.hardware("lxc/200")
    assert hw.vcpus_takes(3) is Takes.NOW and hw.memory_takes(256 * MiB) is Takes.NOW
    lab.set_vcpus("lxc/200", 3)
    lab.set_memory("lxc/200", 256 * MiB)
    guest = lab.inventory().guest("lxc/200")
    assert (guest.maxcpu, guest.maxmem) == (3, 256 * MiB)


def test_a_disk_grows_live_and_never_shrinks(lab):
    task = lab.grow_disk("qemu/100", "scsi0", 12 * GiB)
    assert task.id.split(":")[5] == "qmresize"
    assert "grown from 10 GiB to 12 GiB while running" in task.log[0]
    assert lab.inventory().guest("qemu/100").maxdisk == 12 * GiB
    with pytest.raises(InvalidInput) as refused:
        lab.grow_disk("qemu/100", "scsi0", 11 * GiB)
    assert refused.value.fields == {"disk:scsi0": "a disk only grows: scsi0 has 12 GiB; "
                                    "shrinking would cut off the end of its file system"}
    assert lab.inventory().guest("qemu/100").maxdisk == 12 * GiB


def test_growing_past_thick_storage_is_refused(lab):
    with pytest.raises(Conflict, match="Insufficient free space"):
        lab.grow_disk("qemu/100", "scsi0", 95 * GiB)


def test_limits_of_the_node(lab):
    with pytest.raises(InvalidInput) as refused:
        lab.set_vcpus("qemu/101", 5)
    assert refused.value.fields == {"vcpus": "between 1 and 4 (the CPUs of its node)"}
    with pytest.raises(InvalidInput, match="at most 16384 MiB"):
        lab.set_memory("qemu/101", 17 * GiB)
    assert lab.hardware("qemu/101").pending == ()


def test_a_link_goes_down_and_up(lab):
    lab.set_link("qemu/100", "net0", False)
    assert lab.hardware("qemu/100").nic("net0").link_up is False
    lab.set_link("qemu/100", "net0", True)
    assert lab.hardware("qemu/100").nic("net0").link_up is True


def test_a_template_keeps_its_hardware(lab):
    with pytest.raises(NotSupported, match="template"):
        lab.set_vcpus("qemu/9000", 1)


def test_a_guest_with_its_link_down_does_not_answer_probes(lab):
    assert lab.probe("qemu/100") is not None
    lab.set_link("qemu/100", "net0", False)
    assert lab.probe("qemu/100") is None
    lab.set_link("qemu/100", "net0", True)
    assert lab.probe("qemu/100") is not None
