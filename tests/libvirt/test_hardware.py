"""Hardware changes on libvirt's test driver: what is read, what a running domain takes
live (vCPUs up to its maximum, memory through its balloon) and what only its next
start brings, and libvirt's own words where the driver refuses (the test driver has no
block resize or device update: the lab tests those on QEMU)."""

from __future__ import annotations

import pytest

pytest.importorskip("libvirt")

from tests.libvirt.conftest import guest_named, wait
from vmconsole.backends.base import InvalidInput, TaskStatus
from vmconsole.backends.hardware import GiB, MiB, SupportsHardware, Takes


def restart(cluster, guest_id):
    assert wait(cluster, cluster.stop(guest_id)).status is TaskStatus.OK
    assert wait(cluster, cluster.start(guest_id)).status is TaskStatus.OK


def test_a_running_domain_as_libvirt_describes_it(cluster):
    assert isinstance(cluster, SupportsHardware)
    web1 = guest_named(cluster, "web1")
    hw = cluster.hardware(web1.id)
    assert (hw.running, hw.vcpus, hw.memory) == (True, 2, 1024 * MiB)
    assert (hw.host_cpus, hw.host_memory) == (4, 8192 * MiB)
    assert [d.key for d in hw.disks] == ["vda"] and hw.disks[0].volume == "/pool1/web1.qcow2"
    [nic] = hw.nics
    assert (nic.key, nic.link_up) == ("52:54:00:00:01:01", True)
    assert nic.detail.startswith("virtio, bridge vmbr0")
    # Live up to what it started with: 2 vCPUs, 1024 MiB through its balloon.
    assert hw.vcpus_takes(1) is Takes.NOW and hw.vcpus_takes(3) is Takes.NEXT_BOOT
    assert hw.memory_takes(512 * MiB) is Takes.NOW
    assert hw.memory_takes(2 * GiB) is Takes.NEXT_BOOT


def test_fewer_vcpus_and_less_memory_live(cluster):
    web1 = guest_named(cluster, "web1").id
    task = wait(cluster, cluster.set_vcpus(web1, 1))
    assert task.status is TaskStatus.OK
    assert task.log == ("vCPUs 2 → 1: applied to the running domain and its definition",)
    wait(cluster, cluster.set_memory(web1, 512 * MiB))
    hw = cluster.hardware(web1)
    assert (hw.vcpus, hw.memory) == (1, 512 * MiB)
    restart(cluster, web1)  # the definition has them too
    hw = cluster.hardware(web1)
    assert (hw.vcpus, hw.memory) == (1, 512 * MiB)


def test_more_than_it_started_with_comes_at_the_next_start(cluster):
    web1 = guest_named(cluster, "web1").id
    task = wait(cluster, cluster.set_vcpus(web1, 4))
    assert task.log[0].startswith("vCPUs 2 → 4: written to the definition; the domain "
                                  "takes it at its next start (it started with at most 2 "
                                  "vCPUs and 1024 MiB)")
    wait(cluster, cluster.set_memory(web1, 3 * GiB))
    hw = cluster.hardware(web1)
    assert (hw.vcpus, hw.memory) == (2, 1024 * MiB)
    restart(cluster, web1)
    hw = cluster.hardware(web1)
    assert (hw.vcpus, hw.memory) == (4, 3 * GiB)
    assert guest_named(cluster, "web1").maxcpu == 4


def test_past_the_host_is_refused_before_any_call(cluster):
    web1 = guest_named(cluster, "web1").id
    with pytest.raises(InvalidInput) as refused:
        cluster.set_vcpus(web1, 5)
    assert refused.value.fields == {"vcpus": "between 1 and 4 (the CPUs of its node)"}
    assert cluster.tasks() == []


def test_a_disk_never_shrinks(cluster):
    web1 = guest_named(cluster, "web1").id
    size = cluster.hardware(web1).disk("vda").size
    with pytest.raises(InvalidInput, match="a disk only grows"):
        cluster.grow_disk(web1, "vda", size - GiB)


@pytest.mark.parametrize("change", ["grow", "link"])
def test_what_the_driver_cannot_do_ends_in_libvirts_words(cluster, change):
    web1 = guest_named(cluster, "web1").id
    hw = cluster.hardware(web1)
    task = (cluster.grow_disk(web1, "vda", hw.disk("vda").size + GiB) if change == "grow"
            else cluster.set_link(web1, "52:54:00:00:01:01", False))
    ended = wait(cluster, task)
    assert ended.status is TaskStatus.ERROR
    assert "this function is not supported by the connection driver" in ended.error
