"""A libvirt domain's addresses from `virDomainInterfaceAddresses`, asking its three
sources in turn until one knows any: the QEMU guest agent
(VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT, needs qemu-guest-agent and its channel),
the DHCP leases of libvirt's own networks (SRC_LEASE) and the host's ARP table
(SRC_ARP: addresses the host has exchanged packets with). Each call may block for the
agent's timeout (5 s in libvirt), so it runs on the address sweep's thread or a UI
worker, never on libvirt's event loop."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import libvirt

from vmconsole.backends.libvirt.errors import libvirt_message
from vmconsole.model import AddressSource, GuestAddress

# libvirt waits up to 5 s for an agent's guest-sync, then 5 s for its answer
# (QEMU_AGENT_WAIT_TIME, qemu_agent.c): a read may take that long and still be no fault
# of the host's.
AGENT_WAIT_S = 15.0

SOURCES = (
    (libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT, AddressSource.AGENT),
    (libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, AddressSource.LEASE),
    (libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP, AddressSource.ARP),
)


def read_addresses(dom: libvirt.virDomain) -> tuple[tuple[GuestAddress, ...], str | None]:
    """(addresses, why none): the first source that reports any address; when none
    does, what each said ("no guest agent configured; no DHCP lease; ...")."""
    if not dom.isActive():
        return (), "stopped"
    notes = []
    for flag, source in SOURCES:
        try:
            found = dom.interfaceAddresses(flag)
        except libvirt.libvirtError as exc:
            notes.append(_why(source, exc))
            continue
        addresses = parse(found, source)
        if addresses:
            return addresses, None
        notes.append(f"no {source} address")
    return (), "; ".join(notes)


def parse(found: Mapping[str, Any], source: AddressSource) -> tuple[GuestAddress, ...]:
    """libvirt-python's answer, {ifname: {"hwaddr": MAC, "addrs": [{"addr", "prefix",
    "type"}]}}, as addresses in interface order."""
    out = []
    for name, entry in (found or {}).items():
        if not isinstance(entry, Mapping):
            continue
        mac = str(entry.get("hwaddr") or "")
        for item in entry.get("addrs") or []:
            if isinstance(item, Mapping) and item.get("addr"):
                prefix = item.get("prefix")
                out.append(GuestAddress(str(item["addr"]), source, str(name),
                                        prefix if isinstance(prefix, int) else None, mac))
    return tuple(out)


def _why(source: AddressSource, exc: libvirt.libvirtError) -> str:
    """A source's failure in a few words, libvirt's own where they say more."""
    text = libvirt_message(exc)
    if source is AddressSource.AGENT:
        if "not configured" in text:
            return "no guest agent configured"
        if exc.get_error_code() == getattr(libvirt, "VIR_ERR_AGENT_UNRESPONSIVE", -1) \
                or "not connected" in text or "not responding" in text:
            return "the guest agent is not running"
    if exc.get_error_code() in (libvirt.VIR_ERR_NO_SUPPORT,
                                libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED):
        return f"no {source} here"
    return f"{source}: {text}"
