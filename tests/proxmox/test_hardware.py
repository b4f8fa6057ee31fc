"""Hardware changes against fakepve: what the console reads from a guest's config,
what it writes (the config API with the digest, `resize`), what PVE did with it
(applied, or pending until the next start) as the task log says, and PVE's refusals
in its own words."""

from __future__ import annotations

import pytest

from vmconsole.backends.base import Conflict, InvalidInput, TaskStatus
from vmconsole.backends.hardware import GiB, MiB, SupportsHardware, Takes


def test_a_running_vm_as_its_config_says(backend):
    assert isinstance(backend, SupportsHardware)
    hw = backend.hardware("qemu/100")
    assert (hw.running, hw.vcpus, hw.memory, hw.host_cpus) == (True, 2, 1024 * MiB, 4)
    [disk] = hw.disks
    assert (disk.key, disk.size, disk.volume) == ("scsi0", 8 * GiB, "ceph:vm-100-disk-0")
    [nic] = hw.nics
    assert (nic.key, nic.link_up, nic.detail) == (
        "net0", True, "virtio, bridge vmbr0, BC:24:11:00:01:00")
    # PVE's default hotplug is network,disk,usb: cores and memory wait for a start.
    assert hw.vcpus_takes(3) is Takes.NEXT_BOOT and hw.memory_takes(2 * GiB) is Takes.NEXT_BOOT
    assert "hotplug: network,disk,usb" in hw.why_not_live


def test_cores_of_a_running_vm_go_pending_and_the_task_says_so(backend, fakepve):
    task = backend.set_vcpus("qemu/100", 3)
    assert (task.operation, task.target, task.status) == ("vcpus", "qemu/100", TaskStatus.OK)
    assert task.log[0].startswith("vCPUs 2 → 3: pending until its next start (PVE hotplugs "
                                  "vCPUs only with 'cpu' in hotplug")
    [put] = fakepve.requests("PUT", "/qemu/100/config")
    assert put["cores"] == "3" and put["digest"]
    assert fakepve.guest(100)["config"]["cores"] == 2  # the running VM keeps its own
    assert backend.hardware("qemu/100").pending == ("cores: 3",)
    assert task in backend.tasks()


def test_a_vm_with_cpu_hotplug_gets_vcpus_live_within_its_topology(backend, fakepve):
    config = fakepve.guest(100)["config"]
    fakepve.set(100, config={**config, "cores": 4, "vcpus": 2, "hotplug": "network,disk,cpu"})
    hw = backend.hardware("qemu/100")
    assert (hw.vcpus, hw.vcpus_live_max) == (2, 4)
    assert hw.vcpus_takes(4) is Takes.NOW
    backend.set_vcpus("qemu/100", 4)
    [put] = fakepve.requests("PUT", "/qemu/100/config")
    assert put["vcpus"] == "4" and "cores" not in put


def test_a_stopped_vm_takes_memory_at_once(backend, fakepve):
    task = backend.set_memory("qemu/101", 4 * GiB)
    assert task.log[0] == "memory 2048 → 4096 MiB: applied"
    assert fakepve.guest(101)["config"]["memory"] in (4096, "4096")
    assert backend.hardware("qemu/101").memory == 4 * GiB


def test_a_running_container_takes_cores_and_memory_at_once(backend, fakepve):
    assert backend.set_vcpus("lxc/200", 2).log[0] == "vCPUs 4 → 2: applied to the running guest"
    assert backend.set_memory("lxc/200", 512 * MiB).log[0] == (
        "memory 256 → 512 MiB: applied to the running guest")
    hw = backend.hardware("lxc/200")
    assert (hw.vcpus, hw.memory, hw.pending) == (2, 512 * MiB, ())


def test_a_container_disk_grows_by_a_pve_task(backend, fakepve):
    task = backend.grow_disk("lxc/200", "rootfs", 6 * GiB)
    assert task.id.split(":")[5] == "resize"
    assert backend.wait(task.id).status is TaskStatus.OK
    assert backend.hardware("lxc/200").disk("rootfs").size == 6 * GiB


def test_a_vm_disk_grows_with_the_size_pve_reads(backend, fakepve):
    task = backend.grow_disk("qemu/100", "scsi0", 10 * GiB)
    assert task.operation == "resize"
    [put] = fakepve.requests("PUT", "/qemu/100/resize")
    assert (put["disk"], put["size"]) == ("scsi0", "10240M") and put["digest"]


def test_a_disk_never_shrinks_and_nothing_is_sent(backend, fakepve):
    with pytest.raises(InvalidInput) as refused:
        backend.grow_disk("lxc/200", "rootfs", 2 * GiB)
    assert refused.value.fields == {"disk:rootfs": "a disk only grows: rootfs has 4 GiB; "
                                    "shrinking would cut off the end of its file system"}
    assert fakepve.requests("PUT", "/lxc/200/resize") == []


def test_more_vcpus_than_the_node_has_are_refused_before_any_write(backend, fakepve):
    with pytest.raises(InvalidInput, match="between 1 and 4"):
        backend.set_vcpus("qemu/101", 8)
    assert fakepve.requests("PUT", "/qemu/101/config") == []


def test_a_link_goes_down_in_the_nic_property_string(backend, fakepve):
    task = backend.set_link("qemu/100", "net0", False)
    assert task.log[1] == "config: net0=virtio=BC:24:11:00:01:00,bridge=vmbr0,link_down=1"
    backend.set_link("qemu/100", "net0", True)
    assert fakepve.requests("PUT", "/qemu/100/config")[1]["net0"] == (
        "virtio=BC:24:11:00:01:00,bridge=vmbr0")


def test_a_locked_guest_is_refused_in_pves_words(backend, fakepve):
    fakepve.call("snapshot_lock", 101, "backup")
    with pytest.raises(Conflict, match=r"VM is locked \(backup\)"):
        backend.set_memory("qemu/101", 4 * GiB)
