"""A guest's IP addresses, who reported each, and which ones the console probes."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class AddressSource(StrEnum):
    """Who told the console a guest's address: libvirt's three sources
    (VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT, _LEASE, _ARP), Proxmox's guest agent
    (`agent/network-get-interfaces`), a container's `interfaces`, a config's static
    `ip=` (Proxmox cloud-init `ipconfigN`, a container's `netN`), VMware Tools
    (`guest.net`), the console's own libvirt metadata, or the simulator's model."""

    AGENT = "guest agent"
    LEASE = "DHCP lease"
    ARP = "ARP table"
    CONTAINER = "container"
    CONFIG = "static config"
    TOOLS = "VMware Tools"
    METADATA = "console metadata"
    SIMULATOR = "simulator"


@dataclass(frozen=True, slots=True)
class GuestAddress:
    """One IP address of a guest, as its source reported it."""

    ip: str  # "10.0.0.5", "2001:db8::5"; no prefix
    source: AddressSource
    interface: str = ""  # the guest's (or config's) name for the interface: "eth0", "net0"
    prefix: int | None = None  # bits
    mac: str = ""

    @property
    def probeable(self) -> bool:
        """An address worth probing from outside: not loopback, link-local, unspecified
        or multicast (RFC 4291, RFC 3927); False for text that is no IP address."""
        try:
            ip = ipaddress.ip_address(self.ip)
        except ValueError:
            return False
        return not (ip.is_loopback or ip.is_link_local or ip.is_unspecified
                    or ip.is_multicast)


def probe_order(addresses: Iterable[GuestAddress]) -> tuple[GuestAddress, ...]:
    """The probe-worthy addresses, each once, IPv4 first, else in the source's order."""
    seen: set[str] = set()
    usable = []
    for a in addresses:
        if a.probeable and a.ip not in seen:
            seen.add(a.ip)
            usable.append(a)
    return tuple(sorted(usable, key=lambda a: ":" in a.ip))
