"""Ping monitor figures: downtime accuracy against cuts of known length, and CPU cost.

    python benchmarks/ping.py [--cuts 5] [--cpu-seconds 3]

Accuracy: as root, two namespaces of our own joined by a veth pair, ICMP from one into
the other through a setns prober thread, and the path cut (a blackhole route in the
target's namespace) for 300 ms plus a
random fraction of the interval (so the cut falls anywhere on the probe grid), `--cuts`
times per interval. Otherwise a TCP listener on 127.0.0.1 is closed for as long (refused
connects count as lost). The true cut is the midpoint of its bounds as timed around the
commands that made it; the error is measured minus true. Measured downtime runs from
the last reply before the cut to the first reply after it, so it exceeds the true cut by
0 to 2 intervals, 1 on average: expect a mean error near one interval.

CPU: 50 targets on 127.0.0.x at 10 ms (ICMP when allowed, else TCP to one listener, whose
accept thread then counts too), process CPU time over wall time, in % of one core.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ping.conftest import TcpServer
from tests.ping.netns_pair import Cut, NetnsPair, why_not_available
from vmconsole.monitor.ping import PingMonitor, ProbeError, ProbeTarget
from vmconsole.monitor.ping.probers import open_icmp_socket

CUT = 0.3


def icmp_allowed() -> bool:
    try:
        open_icmp_socket().close()
    except ProbeError:
        return False
    return True


def loopback_cut(server: TcpServer, seconds: float) -> Cut:
    down_from = time.monotonic()
    server.close()
    down_by = time.monotonic()
    time.sleep(seconds)
    up_from = time.monotonic()
    server.open()
    return Cut(down_from, down_by, up_from, time.monotonic())


def measure_errors(monitor: PingMonitor, target: ProbeTarget, interval: float, cuts: int,
                   cut: Callable[[float], Cut]) -> list[float]:
    """Errors in seconds (measured - true) of `cuts` cuts in one session."""
    session = monitor.start(target, interval=interval, duration=cuts * (CUT + 0.6) + 1)
    errors = []
    try:
        for _ in range(cuts):
            time.sleep(0.4)
            made = cut(CUT + random.uniform(0, interval))
            time.sleep(0.2)
            outages = session.snapshot().outages
            if outages and outages[-1].end is not None:
                errors.append(outages[-1].downtime - (made.shortest + made.longest) / 2)
    finally:
        session.stop()
        session.wait(2)
    return errors


def accuracy(cuts: int) -> None:
    monitor = PingMonitor()
    reason = why_not_available()
    method = "netns blackhole-route cut, icmp" if reason is None else "loopback tcp"
    print(f"accuracy_method: {method}")
    for interval in (0.01, 0.05):
        name = f"{interval * 1000:.0f}ms"
        if reason is None:
            with NetnsPair() as pair:
                target = ProbeTarget.icmp(pair.address_b, netns=pair.a)
                errors = measure_errors(monitor, target, interval, cuts, pair.cut)
        else:
            server = TcpServer()
            try:
                target = ProbeTarget.tcp("127.0.0.1", server.port)
                errors = measure_errors(monitor, target, interval, cuts,
                                        lambda s, srv=server: loopback_cut(srv, s))
            finally:
                server.close()
        ms = [e * 1000 for e in errors]
        print(f"cuts_measured_{name}: {len(ms)} of {cuts}")
        if ms:
            print(f"error_mean_ms_{name}: {statistics.fmean(ms):.1f}")
            print(f"error_min_ms_{name}: {min(ms):.1f}")
            print(f"error_max_ms_{name}: {max(ms):.1f}")


def cpu(seconds: float, targets: int = 50) -> None:
    monitor = PingMonitor()
    server = None
    if icmp_allowed():
        made = [ProbeTarget.icmp(f"127.0.0.{i + 1}") for i in range(targets)]
        print("cpu_method: icmp")
    else:
        server = TcpServer()
        made = [ProbeTarget.tcp("127.0.0.1", server.port) for _ in range(targets)]
        print("cpu_method: tcp (listener in this process)")
    try:
        before, start = os.times(), time.monotonic()
        sessions = [monitor.start(t, interval=0.01, duration=seconds) for t in made]
        for session in sessions:
            session.wait(seconds + 5)
        after, wall = os.times(), time.monotonic() - start
    finally:
        if server is not None:
            server.close()
    sent = sum(s.snapshot().sent for s in sessions)
    received = sum(s.snapshot().received for s in sessions)
    used = (after.user - before.user) + (after.system - before.system)
    print(f"cpu_targets: {targets}")
    print(f"cpu_probes_per_second: {sent / wall:.0f}")
    print(f"cpu_replies_lost: {sent - received}")
    print(f"cpu_percent_of_one_core: {100 * used / wall:.1f}")
    print(f"cpu_user_percent: {100 * (after.user - before.user) / wall:.1f}")
    print(f"cpu_system_percent: {100 * (after.system - before.system) / wall:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cuts", type=int, default=5)
    parser.add_argument("--cpu-seconds", type=float, default=3.0)
    args = parser.parse_args()
    accuracy(args.cuts)
    cpu(args.cpu_seconds)


if __name__ == "__main__":
    main()
