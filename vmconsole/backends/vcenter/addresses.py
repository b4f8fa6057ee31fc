"""A VM's addresses as VMware Tools report them, read in the inventory's one
PropertyCollector call: `guest.net` (GuestNicInfo: each NIC's MAC and its
`ipConfig.ipAddress` with prefix lengths, else its flat `ipAddress` list), else
`guest.ipAddress` (the primary address), and `guest.toolsRunningStatus` to say why a
running VM reports none (vSphere API reference, vim.vm.GuestInfo)."""

from __future__ import annotations

from typing import Any

from vmconsole.backends.vcenter.properties import ObjectProps
from vmconsole.model import AddressSource, GuestAddress

PATHS = ("guest.net", "guest.ipAddress", "guest.toolsRunningStatus")


def tools_addresses(vm: ObjectProps, powered_on: bool
                    ) -> tuple[tuple[GuestAddress, ...], str | None]:
    """(addresses, why none) of one VM from its properties."""
    if not powered_on:
        return (), "stopped"
    out: list[GuestAddress] = []
    for nic in vm.get("guest.net", []):
        mac = str(getattr(nic, "macAddress", "") or "")
        name = str(getattr(nic, "network", "") or "")
        config = getattr(getattr(nic, "ipConfig", None), "ipAddress", None) or []
        if config:
            out += [GuestAddress(str(a.ipAddress), AddressSource.TOOLS, name,
                                 _int(getattr(a, "prefixLength", None)), mac)
                    for a in config if getattr(a, "ipAddress", None)]
        else:
            out += [GuestAddress(str(ip), AddressSource.TOOLS, name, mac=mac)
                    for ip in getattr(nic, "ipAddress", None) or [] if ip]
    primary = vm.get("guest.ipAddress")
    if primary and all(a.ip != primary for a in out):
        out.insert(0, GuestAddress(str(primary), AddressSource.TOOLS))
    if out:
        return tuple(out), None
    if vm.get("guest.toolsRunningStatus") != "guestToolsRunning":
        return (), "VMware Tools are not running"
    return (), "VMware Tools report no address"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None
