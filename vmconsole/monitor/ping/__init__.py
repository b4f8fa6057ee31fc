"""The ping monitor: how long a guest stops answering during a migration or a failover.

    monitor = PingMonitor()
    measurement = monitor.start(ProbeTarget.icmp("10.77.0.50", netns="vmclab-lan"),
                            interval=0.01, duration=60)
    measurement.mark("migration started")
    ...
    snap = measurement.snapshot()   # outages, ongoing outage, RTT stats, samples, markers

Probers: ICMP echo (icmplib; raw as root, datagram where net.ipv4.ping_group_range
allows), TCP connect, and the simulator's `probe()`. Each can run inside a network
namespace. No Textual here: the CLI (`vmconsole ping`) and the console's ping panel
both read `PingSnapshot`s.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vmconsole.monitor.ping.detector import Outage, OutageDetector, ProbeResult, RttStats
    from vmconsole.monitor.ping.measurement import (
        MIN_INTERVAL,
        Marker,
        Measurement,
        PingMonitor,
        PingSnapshot,
        default_timeout,
    )
    from vmconsole.monitor.ping.netns import NetnsError
    from vmconsole.monitor.ping.targets import ProbeError, ProbeKind, ProbeTarget

# Each name's module, imported on first use (PEP 562): the console's first screen needs
# the light modules (targets, reports), not the probers (icmplib, namespaces, threads).
_MODULES = {
    "Outage": "detector", "OutageDetector": "detector", "ProbeResult": "detector",
    "RttStats": "detector", "NetnsError": "netns", "MIN_INTERVAL": "measurement",
    "Marker": "measurement", "PingMonitor": "measurement", "Measurement": "measurement",
    "PingSnapshot": "measurement", "default_timeout": "measurement", "ProbeError": "targets",
    "ProbeKind": "targets", "ProbeTarget": "targets",
}


def __getattr__(name: str) -> object:
    """The public name NAME from its module, imported now (AttributeError if none)."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "MIN_INTERVAL",
    "Marker",
    "Measurement",
    "NetnsError",
    "Outage",
    "OutageDetector",
    "PingMonitor",
    "PingSnapshot",
    "ProbeError",
    "ProbeKind",
    "ProbeResult",
    "ProbeTarget",
    "RttStats",
    "default_timeout",
]
