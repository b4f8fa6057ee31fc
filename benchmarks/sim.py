"""Simulator figures, as `name: value` lines: inventory() time at scale, and the outage
each teaching scenario produces in the model.

    python benchmarks/sim.py [--nodes 100] [--guests 10000] [--polls 50]

A poll every simulated second (the 10,000-guest cluster reports on pvestatd's 10 s
grid, so about a tenth of the guests are rebuilt per poll). Each scenario then runs
for 420 simulated seconds on a manual clock; an outage is the time a watched guest did
not answer probes, from the model's reachability record.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.backends.sim.scenarios import SCENARIOS
from vmconsole.config import SimCluster

SCENARIO_SECONDS = 420


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--guests", type=int, default=10_000)
    parser.add_argument("--polls", type=int, default=50)
    args = parser.parse_args()
    clock = ManualClock()
    started = time.perf_counter()
    backend = SimBackend(SimCluster(nodes=args.nodes, guests=args.guests), clock=clock)
    build_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    backend.inventory()
    first_ms = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(args.polls):
        clock.advance(1.0)
        started = time.perf_counter()
        backend.inventory()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(f"sim_nodes: {args.nodes}")
    print(f"sim_guests: {args.guests}")
    print(f"sim_build_ms: {build_ms:.1f}")
    print(f"sim_inventory_first_ms: {first_ms:.1f}")
    print(f"sim_inventory_median_ms: {statistics.median(times):.1f}")
    print(f"sim_inventory_p95_ms: {times[int(len(times) * 0.95) - 1]:.1f}")
    print(f"sim_inventory_max_ms: {times[-1]:.1f}")
    for name, scenario in SCENARIOS.items():
        clock = ManualClock()
        backend = SimBackend(SimCluster(scenario=name), clock=clock)
        for _ in range(SCENARIO_SECONDS):
            clock.advance(1.0)
            backend.inventory()
        for guest in scenario.watch:
            log = backend.sim.reach_log.get(guest, [])
            gaps = [f"{b[0] - a[0]:.3f}" for a, b in itertools.pairwise(log)
                    if not a[1] and b[1]]
            if log and not log[-1][1]:
                gaps.append("down at the end")
            key = f"scenario_{name}_{guest.replace('/', '')}"
            shown = ", ".join(gaps) or "none"
            print(f"{key}_outages_s: {shown}")


if __name__ == "__main__":
    main()
