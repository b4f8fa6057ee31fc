"""The vCenter backend against vcsim with many VMs: prints `name: value` lines.

    python benchmarks/vcenter.py --vms 1000 --polls 10

vcsim (tools/vcsim, built from Debian's govmomi: needs golang-go and
golang-github-vmware-govmomi-dev) runs in its own process on loopback with one cluster
of 3 hosts and `--vms` VMs. Between polls 10 VMs are powered off or on, so every poll
changes what the tree shows.

- vcenter_poll_ms_*: one poll (`Poller.poll`: the PropertyCollector read over the whole
  inventory, pyvmomi's parsing, building the inventory, the diff, the history), as the
  poll thread runs it; vcenter_collector_ms_median: the bare collector call alone (the
  same request and parsing, no inventory built), its baseline;
  vcenter_collector_cpu_ms_median: this process's CPU time in that call (pyvmomi's
  parsing): the rest of its wall time is vcsim computing the answer.
- vcenter_apply_ms_*: main-thread time to apply one such poll in the console (tree diff,
  task log, the selected host's facts and charts); sim_apply_ms_median: the same for the
  built-in simulator with the same number of nodes and guests, measured in the same run.
- vcsim_start_s: from starting the simulator to its first answer.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.vcenter.conftest import cluster_config
from tests.vcenter.vcsim import Vcsim, build, missing
from vmconsole.backends.base import Backend
from vmconsole.backends.sim import open_sim
from vmconsole.backends.vcenter import open_vcenter
from vmconsole.backends.vcenter.inventory import PATHS
from vmconsole.backends.vcenter.properties import retrieve_view
from vmconsole.config import SimCluster
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.messages import ClusterPolled
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef
from vmconsole.ui.widgets.metric_chart import MetricChart


async def apply_times(backend: Backend, polls: int, between: object = None
                      ) -> tuple[list[float], list[float], int]:
    """(poll ms, main-thread apply ms, guests in the tree) over `polls` polls."""
    poller = Poller(backend, interval=3600)
    loop = PollLoop(poller)
    app = VMConsoleApp([loop])
    poll_ms: list[float] = []
    apply_ms: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        first = poller.poll()
        app._polled(ClusterPolled(first))
        tree = app.query_one(ClusterTree)
        await pilot.pause(0.2)
        # The first host (under its datacenter and cluster on vCenter): its facts and
        # charts are drawn.
        assert first.inventory is not None
        tree.select_ref(TreeRef(first.cluster, first.inventory.nodes[0].id))
        await pilot.pause(0.1)
        for index in range(polls):
            if callable(between):
                between(index)
            started = time.perf_counter()
            result = poller.poll()
            poll_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            app._polled(ClusterPolled(result))
            for chart in app.query(MetricChart):
                if chart.display:
                    chart.render()
            apply_ms.append((time.perf_counter() - started) * 1000)
            await pilot.pause(0.05)
        count = tree.guest_count()
    return poll_ms, apply_ms, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--polls", type=int, default=10)
    args = parser.parse_args()
    if (reason := missing()) is not None:
        raise SystemExit(f"vcsim cannot be built: {reason}")
    binary = build()
    started = time.perf_counter()
    sim = Vcsim(binary, "-vm", str(args.vms))
    print(f"vcsim_start_s: {time.perf_counter() - started:.2f}")
    backend = open_vcenter(cluster_config(sim, timeout=60.0))
    try:
        guests = sorted(backend.inventory().guests, key=lambda g: g.name)[:10]

        def flip(index: int) -> None:
            for guest in guests:
                task = (backend.stop if index % 2 == 0 else backend.start)(guest.id)
                backend.wait(task.id, 30)

        poll_ms, apply_ms, count = asyncio.run(apply_times(backend, args.polls, flip))
        collector, collector_cpu = [], []
        for _ in range(args.polls):
            started, cpu = time.perf_counter(), time.process_time()
            backend.session.call("bench", lambda c: retrieve_view(c, backend._view(c), PATHS))
            collector.append((time.perf_counter() - started) * 1000)
            collector_cpu.append((time.process_time() - cpu) * 1000)
    finally:
        backend.close()
        sim.stop()
    print(f"vcenter_guests_in_tree: {count}")
    print(f"vcenter_poll_ms_median: {statistics.median(poll_ms):.1f}")
    print(f"vcenter_poll_ms_max: {max(poll_ms):.1f}")
    print(f"vcenter_collector_ms_median: {statistics.median(collector):.1f}")
    print(f"vcenter_collector_cpu_ms_median: {statistics.median(collector_cpu):.1f}")
    print(f"vcenter_apply_ms_median: {statistics.median(apply_ms):.1f}")
    print(f"vcenter_apply_ms_max: {max(apply_ms):.1f}")
    baseline = open_sim(SimCluster(nodes=3, guests=args.vms, seed=7))
    _, sim_apply, _ = asyncio.run(apply_times(baseline, args.polls))
    print(f"sim_apply_ms_median: {statistics.median(sim_apply):.1f}")


if __name__ == "__main__":
    main()
