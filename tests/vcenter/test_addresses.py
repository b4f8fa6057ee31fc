"""VMware Tools' addresses: read in the inventory's one property collector call (vcsim,
whose VMs run without Tools, so each says why it has none), and parsed from pyvmomi's
own GuestInfo objects (NicInfo with IpConfig, as vCenter sends them)."""

from __future__ import annotations

from pyVmomi import vim

from vmconsole.backends.vcenter import VCenterBackend
from vmconsole.backends.vcenter.addresses import tools_addresses
from vmconsole.backends.vcenter.properties import ObjectProps
from vmconsole.model import AddressSource


def test_each_vm_says_why_it_has_no_address(backend: VCenterBackend) -> None:
    inventory = backend.inventory()
    running = [g for g in inventory.guests if g.running and not g.template]
    stopped = [g for g in inventory.guests if not g.running]
    assert running and all(g.address_note == "VMware Tools are not running"
                           and g.addresses == () for g in running)
    assert all(g.address_note == "stopped" for g in stopped)


def _nic(network: str, mac: str, *addresses: tuple[str, int]) -> vim.vm.GuestInfo.NicInfo:
    config = vim.net.IpConfigInfo(ipAddress=[
        vim.net.IpConfigInfo.IpAddress(ipAddress=ip, prefixLength=bits)
        for ip, bits in addresses])
    return vim.vm.GuestInfo.NicInfo(network=network, macAddress=mac, connected=True,
                                    ipAddress=[ip for ip, _ in addresses], ipConfig=config)


def test_guest_net_gives_every_nic_s_addresses_with_prefix_and_mac() -> None:
    props = {
        "guest.net": [_nic("VM Network", "00:50:56:aa:00:01", ("10.0.0.5", 24),
                           ("fe80::250:56ff:feaa:1", 64)),
                      _nic("backup", "00:50:56:aa:00:02", ("192.0.2.9", 28))],
        "guest.ipAddress": "10.0.0.5",
        "guest.toolsRunningStatus": "guestToolsRunning",
    }
    found, note = tools_addresses(ObjectProps(None, props), powered_on=True)
    assert note is None
    assert [(a.ip, a.prefix, a.interface, a.mac, a.source) for a in found] == [
        ("10.0.0.5", 24, "VM Network", "00:50:56:aa:00:01", AddressSource.TOOLS),
        ("fe80::250:56ff:feaa:1", 64, "VM Network", "00:50:56:aa:00:01", AddressSource.TOOLS),
        ("192.0.2.9", 28, "backup", "00:50:56:aa:00:02", AddressSource.TOOLS)]
    # Tools running but reporting no NIC address: the primary address alone still counts.
    only_primary = {"guest.net": [], "guest.ipAddress": "10.0.0.7",
                    "guest.toolsRunningStatus": "guestToolsRunning"}
    found, note = tools_addresses(ObjectProps(None, only_primary), powered_on=True)
    assert [a.ip for a in found] == ["10.0.0.7"] and note is None
    found, note = tools_addresses(ObjectProps(None, {"guest.toolsRunningStatus":
                                                     "guestToolsRunning"}), powered_on=True)
    assert (found, note) == ((), "VMware Tools report no address")
