"""What to probe: an address by ICMP or TCP (optionally inside a network namespace), or a
simulated guest through its backend's `probe()`."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, field
from enum import StrEnum

from vmconsole.backends.abilities import SupportsProbe
from vmconsole.text import visible


class ProbeError(Exception):
    """A target that cannot be probed (bad address, no privilege), in words for the user."""


class ProbeKind(StrEnum):
    ICMP = "icmp"
    TCP = "tcp"
    SIM = "sim"


_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def resolve_address(text: str, family: int = socket.AF_UNSPEC) -> str:
    """An IP address for TEXT (an IP literal or a host name), or ProbeError.

    Anything that looks like a dotted number but is not a valid IPv4 address is refused
    without asking a resolver, so a typo never turns into a name lookup.
    """
    text = text.strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    labels = text.rstrip(".").split(".")
    if (not text or len(text) > 253 or not all(_HOST_LABEL.match(label) for label in labels)
            or all(label.isdigit() for label in labels)):
        raise ProbeError(f"'{text}' is not an IP address or a host name")
    try:
        infos = socket.getaddrinfo(text, None, family, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ProbeError(f"cannot resolve '{text}': {exc.strerror}") from None
    return str(infos[0][4][0])


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """One thing to probe. Build it with `icmp()`, `tcp()` or `sim()`.

    `address` is an IP address (ICMP, TCP) or a guest id (sim); `name` is what a person
    calls it ("web (10.0.0.5)"); `source` is the simulator that answers for sim targets.
    """

    kind: ProbeKind
    address: str
    port: int | None = None
    netns: str | None = None
    name: str = ""
    source: SupportsProbe | None = field(default=None, compare=False, repr=False)

    @classmethod
    def icmp(cls, address: str, netns: str | None = None, name: str = "") -> ProbeTarget:
        ip = resolve_address(address, socket.AF_INET)
        if ipaddress.ip_address(ip).version != 4:
            raise ProbeError(f"ICMP to IPv6 ({ip}) is not supported; use TCP (--tcp PORT)")
        return cls(ProbeKind.ICMP, ip, netns=netns, name=name or address)

    @classmethod
    def tcp(cls, address: str, port: int, netns: str | None = None,
            name: str = "") -> ProbeTarget:
        if not 0 < port < 65536:
            raise ProbeError(f"TCP port {port} is not between 1 and 65535")
        ip = resolve_address(address)
        return cls(ProbeKind.TCP, ip, port=port, netns=netns, name=name or f"{address}:{port}")

    @classmethod
    def sim(cls, source: SupportsProbe, guest_id: str, name: str = "") -> ProbeTarget:
        return cls(ProbeKind.SIM, guest_id, name=name or guest_id, source=source)

    @property
    def label(self) -> str:
        """For people: "web1 (icmp in netns lab-lan)"; names made visible and cut
        (`vmconsole.text.visible`), never markup."""
        where = f" in netns {visible(self.netns)}" if self.netns else ""
        how = "tcp" if self.kind is ProbeKind.TCP else self.kind.value
        return f"{visible(self.name)} ({how}{where})"
