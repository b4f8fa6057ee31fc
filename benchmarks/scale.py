"""How the console copes with a large cluster: prints `name: value` lines.

    python benchmarks/scale.py --nodes 100 --guests 10000

- refresh_ms_*: main-thread time to apply one poll (tree diff + detail pane) while the
  simulated load changes; the poll itself runs in its thread and is timed separately.
- keypress_ms_*: a cursor key pressed while polling runs, until the app is idle again
  with the screen updated (Textual's Pilot, headless, same process).
- startup_s: from process start to the first full screen of the default demo
  (a fresh interpreter, imports included).
- peak_rss_mb: the process's peak resident memory at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vmconsole.backends.sim import open_sim
from vmconsole.config import SimCluster
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.messages import ClusterPolled
from vmconsole.ui.widgets.cluster_tree import ClusterTree

STARTUP_PROBE = """
import asyncio, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from vmconsole.ui.launch import open_loops
from vmconsole.config import SimCluster
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.widgets.cluster_tree import ClusterTree
async def main():
    loops = open_loops((SimCluster(),))
    for loop in loops:
        loop.start()
    app = VMConsoleApp(loops)
    async with app.run_test(size=(120, 40)) as pilot:
        while app.query_one(ClusterTree).guest_count() == 0:
            await pilot.pause(0.005)
        await pilot.pause()
        print(time.perf_counter() - t0)
    for loop in loops:
        loop.stop()
asyncio.run(main())
"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(nodes: int, guests: int, presses: int) -> dict[str, float]:
    backend = open_sim(SimCluster(nodes=nodes, guests=guests, seed=7))
    poller = Poller(backend, interval=1.0)
    loop = PollLoop(poller)
    polls: list[float] = []
    loop.subscribe(lambda r: polls.append(r.duration))
    app = VMConsoleApp([loop])
    figures: dict[str, float] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        loop.start()
        tree = app.query_one(ClusterTree)
        deadline = time.monotonic() + 120
        while tree.guest_count() < guests and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.press("down", "down", "down")  # a guest: detail pane with graphs
        refresh: list[float] = []
        for _ in range(10):
            result = poller.poll()  # off the loop's schedule: we time the apply only
            started = time.perf_counter()
            app._polled(ClusterPolled(result))
            await pilot.pause()
            refresh.append((time.perf_counter() - started) * 1000)
        latency: list[float] = []
        for i in range(presses):
            started = time.perf_counter()
            await pilot.press("j" if i % 2 == 0 else "k")
            latency.append((time.perf_counter() - started) * 1000)
            await pilot.pause(0.02)
        figures["guests_in_tree"] = tree.guest_count()
        figures["refresh_ms_median"] = statistics.median(refresh)
        figures["refresh_ms_max"] = max(refresh)
        figures["keypress_ms_median"] = statistics.median(latency)
        figures["keypress_ms_p95"] = pct(latency, 95)
        figures["poll_thread_ms_median"] = statistics.median(polls) * 1000 if polls else 0.0
    loop.stop()
    return figures


def startup_seconds(runs: int) -> float:
    root = str(Path(__file__).resolve().parents[1])
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", STARTUP_PROBE.format(root=root)],
                             capture_output=True, text=True, timeout=120, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--guests", type=int, default=10000)
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--startup-runs", type=int, default=3)
    args = parser.parse_args()
    print(f"nodes: {args.nodes}")
    print(f"guests: {args.guests}")
    print(f"startup_s: {startup_seconds(args.startup_runs):.3f}")
    for name, value in asyncio.run(measure(args.nodes, args.guests, args.presses)).items():
        print(f"{name}: {value:.1f}")
    print(f"peak_rss_mb: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
