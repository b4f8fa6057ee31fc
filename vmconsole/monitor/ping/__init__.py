"""The ping monitor: how long a guest stops answering during a migration or a failover.

    monitor = PingMonitor()
    session = monitor.start(ProbeTarget.icmp("10.77.0.50", netns="vmclab-lan"),
                            interval=0.01, duration=60)
    session.mark("migration started")
    ...
    snap = session.snapshot()   # outages, ongoing outage, RTT stats, samples, markers

Probers: ICMP echo (icmplib; raw as root, datagram where net.ipv4.ping_group_range
allows), TCP connect, and the simulator's `probe()`. Each can run inside a network
namespace. No Textual here: the CLI (`vmconsole ping`) and the console's ping panel
both read `PingSnapshot`s.
"""

from vmconsole.monitor.ping.detector import Outage, OutageDetector, ProbeResult, RttStats
from vmconsole.monitor.ping.netns import NetnsError
from vmconsole.monitor.ping.session import (
    MIN_INTERVAL,
    Marker,
    PingMonitor,
    PingSession,
    PingSnapshot,
    default_timeout,
)
from vmconsole.monitor.ping.targets import ProbeError, ProbeKind, ProbeTarget

__all__ = [
    "MIN_INTERVAL",
    "Marker",
    "NetnsError",
    "Outage",
    "OutageDetector",
    "PingMonitor",
    "PingSession",
    "PingSnapshot",
    "ProbeError",
    "ProbeKind",
    "ProbeResult",
    "ProbeTarget",
    "RttStats",
    "default_timeout",
]
