"""A real guest's addresses through real libvirt, and the console's probe of them: a TCG
guest of the lab, whose node has exchanged packets with it, is asked through
virDomainInterfaceAddresses' three sources in turn. The lab's guests run no guest
agent and lease from no libvirt network, so the first two say so; the ARP table then
gives the guest's address with its MAC, or (libvirt 9.0 on a 6.10+ kernel, whose
neighbour dump ends with NLMSG_DONE in the same message: "internal error: wrong nlmsg
len") libvirt's own error, said in the reading. The console's `w` path then probes
the addresses it has and gets replies.

Its own small lab (one node, one guest, no container), built under the lab lock."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.lab.built import BuiltLab, until
from tests.lab.requires import skip_unless_a_lab_can_be_built

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]
skip_unless_a_lab_can_be_built()

from vmconsole.backends import open_backend  # noqa: E402
from vmconsole.lab.shell import in_netns  # noqa: E402
from vmconsole.model import AddressSource, GuestStatus  # noqa: E402
from vmconsole.monitor.ping import PingMonitor  # noqa: E402
from vmconsole.monitor.ping.reach import first_answering  # noqa: E402
from vmconsole.monitor.poller import Poller, PollLoop  # noqa: E402
from vmconsole.ui.pinging import probe_targets  # noqa: E402


@pytest.fixture(scope="module")
def lab(built_lab: BuiltLab):
    backend = open_backend(built_lab.cluster)
    try:
        yield {"layout": built_lab.layout, "backend": backend}
    finally:
        backend.close()


def test_a_real_guest_s_sources_are_asked_in_turn_and_its_address_answers_the_probe(lab):
    backend, layout = lab["backend"], lab["layout"]
    node, (vm1_layout,) = layout.nodes[0], layout.guests
    # A TCG guest that is booting can keep its libvirtd's stats waiting for seconds.
    vm1 = until("pve1 online with vm1 running", lambda: next(
        (g for g in backend.inventory().guests if g.name == "vm1"
         and g.status is GuestStatus.RUNNING), None), 120)
    # The node talks to its guest (as a host does with the guests it routes or serves),
    # so its kernel holds the guest's MAC in its neighbour table.
    until("vm1 answers its node", lambda: subprocess.run(
        in_netns(node.netns, "ping", "-n", "-c", "1", "-W", "1", vm1_layout.ip),
        capture_output=True).returncode == 0, 120)

    def read():
        backend.inventory()  # a host lost to a slow read is tried again by a poll
        reading = backend.guest_addresses(vm1.id)
        # Each source's answer, not a host lost to a slow poll (retried).
        return reading if reading.addresses or "; " in (reading.note or "") else None

    reading = until("a reading of vm1's addresses", read, 60)
    _host, dom = backend.locate(vm1.id)
    (mac,) = re.findall(r"mac address='([^']+)'", dom.XMLDesc(0))
    found = [a for a in reading.addresses if a.source is AddressSource.ARP]
    if found:
        assert [(a.ip, a.mac.lower()) for a in found] == [(vm1_layout.ip, mac.lower())]
        assert reading.note is None
    else:  # each source said why, in order, the ARP table in libvirt's words
        assert reading.addresses == () and reading.note is not None
        agent, lease, arp = reading.note.split("; ")
        assert (agent, lease) == ("no guest agent configured", "no DHCP lease address")
        assert arp.startswith("ARP table: "), reading.note

    # The next poll carries the reading beside the console's own metadata address.
    polled = backend.inventory().guest(vm1.id)
    assert {(a.ip, a.source) for a in polled.addresses} == {
        (vm1_layout.ip, AddressSource.METADATA), *((a.ip, a.source) for a in found)}

    # What `w` does: the guest's addresses as probe targets in the lab's LAN namespace,
    # the first that answers chosen, then measured.
    loop = PollLoop(Poller(backend))
    targets = probe_targets(loop, polled)
    assert [(t.address, t.netns) for t in targets] == [(vm1_layout.ip, "vmclab-lan")]
    monitor = PingMonitor()
    try:
        target = first_answering(monitor, targets)
        session = monitor.start(target, interval=0.05, count=20)
        assert session.wait(10.0)
        snap = session.snapshot()
        assert snap.sent == 20 and snap.received >= 15, snap
    finally:
        monitor.stop_all()
