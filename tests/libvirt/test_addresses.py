"""Guest addresses through libvirt's virDomainInterfaceAddresses on the test driver
(its answer has the real call's shape: interface, MAC, address, prefix): the agent is
asked first, a stopped guest says so, and the background sweep fills the inventory."""

from __future__ import annotations

import time

import pytest

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from vmconsole.backends.abilities import SupportsGuestAddresses  # noqa: E402
from vmconsole.backends.base import NotFound  # noqa: E402
from vmconsole.backends.libvirt.addresses import read_addresses  # noqa: E402
from vmconsole.model import AddressSource  # noqa: E402

from .conftest import PVE1, guest_named, until_heard  # noqa: E402


def test_a_running_domain_reports_its_interface_from_the_first_source_that_knows(cluster):
    assert isinstance(cluster, SupportsGuestAddresses)
    web1 = guest_named(cluster, "web1")
    reading = cluster.guest_addresses(web1.id)
    assert reading.note is None
    (address,) = reading.addresses
    assert (address.source, address.interface, address.prefix) == (
        AddressSource.AGENT, "testnet0", 24)
    # The MAC of web1's own <interface> in the fixture: the answer is web1's.
    assert address.mac == "52:54:00:00:01:01"
    assert address.probeable


def test_a_stopped_domain_and_an_unknown_id_say_why(cluster):
    idle1 = guest_named(cluster, "idle1")
    reading = cluster.guest_addresses(idle1.id)
    assert (reading.addresses, reading.note) == ((), "stopped")
    with pytest.raises(NotFound):
        cluster.guest_addresses("vm/99999999-0000-4000-8000-000000000000")


def test_the_sweep_fills_the_inventory_and_a_stop_drops_what_the_agent_said(cluster):
    deadline = time.monotonic() + 20
    while guest_named(cluster, "web1").ip is None:
        assert time.monotonic() < deadline, "the sweep read no address within 20 s"
        time.sleep(0.2)
    web1 = guest_named(cluster, "web1")
    assert web1.address_note is None and web1.addresses[0].source is AddressSource.AGENT
    _host, dom = cluster.locate(web1.id)
    dom.destroy()
    until_heard(cluster, "web1 stopped on pve1")
    stopped = guest_named(cluster, "web1")
    assert stopped.addresses == () and stopped.address_note == "stopped"


def test_sources_are_asked_in_turn_until_one_knows(monkeypatch):
    """The agent refusing (no channel configured), then an empty lease list: ARP answers."""
    conn = libvirt.open(PVE1)
    try:
        dom = conn.lookupByName("web1")
        asked = []
        real = dom.interfaceAddresses

        def answer(source, flags=0):
            asked.append(source)
            if source == libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT:
                raise libvirt.libvirtError("argument unsupported: QEMU guest agent is not "
                                           "configured")
            if source == libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE:
                return {}
            return real(source, flags)

        monkeypatch.setattr(dom, "interfaceAddresses", answer)
        addresses, note = read_addresses(dom)
        assert [a.source for a in addresses] == [AddressSource.ARP] and note is None
        assert asked == [libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT,
                         libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE,
                         libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP]
    finally:
        conn.close()
