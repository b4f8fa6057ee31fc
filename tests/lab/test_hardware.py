"""Hardware changes on real QEMU (TCG) guests under a real libvirtd: a link pulled and
plugged (the guest stops and starts answering pings in the LAN namespace), memory
ballooned down live, more vCPUs than it started with taken at its next start, and a
disk grown while it runs (QEMU's block_resize) and while it is off (the volume).

A one-node lab of its own, one guest, built once for the module."""

from __future__ import annotations

import pytest

from tests.lab.built import BuiltLab, until
from tests.lab.requires import skip_unless_a_lab_can_be_built

pytestmark = [pytest.mark.lab, pytest.mark.timeout(400)]
skip_unless_a_lab_can_be_built()

import libvirt  # noqa: E402

from vmconsole.backends.base import TaskStatus, Unreachable  # noqa: E402
from vmconsole.backends.hardware import MiB, Takes  # noqa: E402
from vmconsole.backends.libvirt import open_libvirt  # noqa: E402
from vmconsole.lab.guests import POOL  # noqa: E402
from vmconsole.lab.probe import answers  # noqa: E402

from ..libvirt.conftest import wait  # noqa: E402

VM1_IP = "10.77.0.11"


@pytest.fixture(scope="module")
def lab(built_lab: BuiltLab):
    backend = open_libvirt(built_lab.cluster)
    try:
        # A TCG guest that is booting can keep its libvirtd's answers waiting.
        vm1 = until("vm1 in the inventory", lambda: next(
            (g for g in backend.inventory().guests if g.name == "vm1"), None), 60,
            every=0.2)
        yield backend, vm1.id
    finally:
        backend.close()


def hardware(backend, vm1):
    """vm1's hardware once its node answers: on this shared 2-core machine a busy
    libvirtd can miss the profile's timeout, and the next poll reconnects it."""
    def read():
        backend.inventory()
        try:
            return backend.hardware(vm1)
        except Unreachable:
            return None

    return until("vm1's hardware", read, 60)


def ok(backend, task):
    ended = wait(backend, task, timeout=120)
    assert ended.status is TaskStatus.OK, ended.error
    return ended


def test_a_link_down_takes_the_guest_off_the_network_and_up_brings_it_back(lab):
    backend, vm1 = lab
    assert until("vm1 answers", lambda: answers(VM1_IP), 90)
    [nic] = hardware(backend, vm1).nics
    assert nic.link_up and hardware(backend, vm1).link_takes() is Takes.NOW
    task = ok(backend, backend.set_link(vm1, nic.key, False))
    assert task.log == (f"{nic.key} link down: applied to the running domain and its "
                        "definition",)
    assert not hardware(backend, vm1).nics[0].link_up
    assert until("vm1 stops answering", lambda: not answers(VM1_IP), 10)
    ok(backend, backend.set_link(vm1, nic.key, True))
    assert until("vm1 answers again", lambda: answers(VM1_IP, tries=2), 20)


def test_memory_balloons_down_live(lab):
    backend, vm1 = lab
    hw = hardware(backend, vm1)
    assert hw.memory == 128 * MiB and hw.memory_takes(112 * MiB) is Takes.NOW
    task = ok(backend, backend.set_memory(vm1, 112 * MiB))
    assert "applied to the running domain" in task.log[0]
    # The guest's balloon driver hands the memory back in steps: libvirt reports what
    # the balloon holds now.
    until("the balloon reaches 112 MiB", lambda: hardware(backend, vm1).memory == 112 * MiB, 60)


def test_more_vcpus_than_it_started_with_come_at_its_next_start(lab):
    backend, vm1 = lab
    hw = hardware(backend, vm1)
    assert hw.vcpus == 1 and hw.host_cpus >= 2
    assert hw.vcpus_takes(2) is Takes.NEXT_BOOT
    task = ok(backend, backend.set_vcpus(vm1, 2))
    assert "the domain takes it at its next start" in task.log[0]
    assert hardware(backend, vm1).vcpus == 1
    ok(backend, backend.stop(vm1))
    ok(backend, backend.start(vm1))
    assert hardware(backend, vm1).vcpus == 2
    assert until("vm1 answers with 2 vCPUs", lambda: answers(VM1_IP, tries=2), 120)


def test_a_disk_grows_while_running_and_while_off(lab):
    backend, vm1 = lab
    host, dom = backend.locate(vm1)
    conn = host.connection()
    pool = conn.storagePoolLookupByName(POOL)
    volume = pool.createXML(
        "<volume><name>vm1-data.qcow2</name><capacity unit='MiB'>64</capacity>"
        "<target><format type='qcow2'/></target></volume>", 0)
    disk = (f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
            f"<source file='{volume.path()}'/><target dev='vdb' bus='virtio'/></disk>")
    dom.attachDeviceFlags(disk, libvirt.VIR_DOMAIN_AFFECT_LIVE
                          | libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    backend.defined(host, dom.UUIDString())
    assert hardware(backend, vm1).disk("vdb").size == 64 * MiB
    task = ok(backend, backend.grow_disk(vm1, "vdb", 96 * MiB))
    assert "grown from 0.06 GiB to 0.09 GiB while running" in task.log[0]
    assert dom.blockInfo("vdb")[0] == 96 * MiB  # what QEMU now gives the guest
    ok(backend, backend.stop(vm1))
    task = ok(backend, backend.grow_disk(vm1, "vdb", 128 * MiB))
    assert f"({volume.path()}) grown" in task.log[0]
    assert volume.info()[1] == 128 * MiB
    assert hardware(backend, vm1).disk("vdb").size == 128 * MiB
