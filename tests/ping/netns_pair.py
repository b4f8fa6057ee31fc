"""Two network namespaces joined by a veth pair, for measuring the monitor against a cut
of known length. Used by the namespace test and by benchmarks/ping.py.

The addresses (10.200.x.y/30) exist only inside the two namespaces: the root namespace
gets no address, route or link, so no probe can leave the machine.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass


def why_not_available() -> str | None:
    """None when this process can build a pair, else the reason."""
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass(frozen=True)
class Cut:
    """When the path was down, bounded by the moments the `ip` commands ran."""

    down_from: float  # monotonic, before "link down" was asked
    down_by: float  # after it returned
    up_from: float
    up_by: float

    @property
    def shortest(self) -> float:
        return self.up_from - self.down_by

    @property
    def longest(self) -> float:
        return self.up_by - self.down_from


class NetnsPair:
    """`<prefix>-a` holds 10.200.N.1, `<prefix>-b` holds 10.200.N.2; `cut()` makes b drop
    everything it would send to a, for a while.

    The cut is a blackhole route in b, not a link going down: taking a link down also
    flushes the neighbour (ARP) tables, and re-resolving after it adds up to seconds of
    the kernel's ARP retry timers, which is not what the test measures.
    """

    def __init__(self) -> None:
        tag = f"{os.getpid()}-{secrets.token_hex(2)}"
        self.a, self.b = f"vmc-test-{tag}-a", f"vmc-test-{tag}-b"
        subnet = int(tag.split("-")[1], 16) % 250
        self.address_a, self.address_b = f"10.200.{subnet}.1", f"10.200.{subnet}.2"
        self._made: list[str] = []

    def __enter__(self) -> NetnsPair:
        try:
            for name in (self.a, self.b):
                _ip("netns", "add", name)
                self._made.append(name)
                _ip("-n", name, "link", "set", "lo", "up")
            _ip("-n", self.a, "link", "add", "veth-a", "type", "veth",
                "peer", "name", "veth-b", "netns", self.b)
            _ip("-n", self.a, "addr", "add", f"{self.address_a}/30", "dev", "veth-a")
            _ip("-n", self.b, "addr", "add", f"{self.address_b}/30", "dev", "veth-b")
            _ip("-n", self.a, "link", "set", "veth-a", "up")
            _ip("-n", self.b, "link", "set", "veth-b", "up")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        # Deleting a namespace deletes its end of the veth, and with it the other end.
        for name in self._made:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
        self._made.clear()

    def cut(self, seconds: float) -> Cut:
        """Drop b's packets to a for SECONDS, then let them through again."""
        route = ("-n", self.b, "route", "{}", "blackhole", f"{self.address_a}/32")
        down_from = time.monotonic()
        _ip(*(part.format("add") for part in route))
        down_by = time.monotonic()
        time.sleep(max(0.0, seconds - (down_by - down_from)))
        up_from = time.monotonic()
        _ip(*(part.format("del") for part in route))
        return Cut(down_from, down_by, up_from, time.monotonic())
