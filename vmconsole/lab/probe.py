"""Measure a guest's outage from inside the LAN namespace: `ping -D` at a fixed
interval, bounded in count, and the longest gap between two replies.

The console's ping monitor does this with its own prober; the lab's tests and
benchmark use the system's ping so that they measure independently of it.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from dataclasses import dataclass

from vmconsole.lab.layout import LAN_NS
from vmconsole.lab.shell import in_netns

_REPLY = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Outage:
    sent: int
    replies: int
    longest_gap_s: float  # last reply before the gap to the first one after

    @property
    def lost(self) -> int:
        return self.sent - self.replies


class PingProbe:
    """`ping` running in the background; `result()` waits for it to end."""

    def __init__(self, address: str, seconds: float, interval_s: float = 0.01,
                 netns: str = LAN_NS) -> None:
        self.count = max(1, int(seconds / interval_s))
        wait = max(0.05, interval_s * 5)  # a lost reply must not stall the next probe
        self._process = subprocess.Popen(
            in_netns(netns, "ping", "-n", "-D", "-c", str(self.count), "-i", str(interval_s),
                     "-W", str(wait), address),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._timeout = seconds * 2 + 5

    def result(self) -> Outage:
        try:
            out, _ = self._process.communicate(timeout=self._timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            out, _ = self._process.communicate()
        times = sorted(float(t) for t, _seq in _REPLY.findall(out))
        gaps = [b - a for a, b in itertools.pairwise(times)]
        return Outage(self.count, len(times), max(gaps, default=0.0))


def answers(address: str, tries: int = 1, netns: str = LAN_NS) -> bool:
    """True once the guest answers a ping (one probe a second, `tries` at most)."""
    done = subprocess.run(in_netns(netns, "ping", "-n", "-c", str(tries), "-W", "1", "-w",
                                   str(tries + 1), address), capture_output=True)
    return done.returncode == 0


def http_page(address: str, netns: str = LAN_NS, timeout_s: float = 3.0) -> str | None:
    """The page a guest's `httpd` serves on port 80, fetched from inside the LAN
    namespace with busybox's wget (one request, no proxy, bounded by `timeout_s`: this
    wget has no timeout of its own); None when it does not answer."""
    try:
        done = subprocess.run(in_netns(netns, "busybox", "wget", "-q", "-Y", "off", "-O", "-",
                                       f"http://{address}/"),
                              capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None
    return done.stdout if done.returncode == 0 else None
