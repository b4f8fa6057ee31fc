"""How the console copes with a large cluster: prints `name: value` lines.

    python benchmarks/scale.py --nodes 100 --guests 10000

- refresh_ms_*: main-thread time to apply one poll (tree diff, task log, teaching panel,
  the selected node's detail pane and the drawing of its three charts) while the
  simulated load changes; poll_thread_ms_*: the poll itself (inventory, diff,
  history), which runs in its own thread.
- keypress_ms_*: the console runs in tmux at 120x40; a cursor key is sent and the pane
  is read until the screen has changed (end to end: terminal, input, repaint). The
  simulated clock is paused (--speed 0) so only the key changes the screen, while the
  poll thread keeps polling all guests every second.
- startup_s: from process start to the first full screen of the default demo
  (a fresh interpreter, imports included).
- peak_rss_mb: the process's peak resident memory at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
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
from vmconsole.ui.widgets.metric_chart import MetricChart

STARTUP_PROBE = """
import asyncio, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from vmconsole.ui.launch import open_loops
from vmconsole.config import SimCluster
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.widgets.cluster_tree import ClusterTree
from vmconsole.ui.widgets.metric_chart import MetricChart
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


async def measure(nodes: int, guests: int) -> dict[str, float]:
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
        await pilot.press("j")  # node pve1: its figures change on every poll
        refresh: list[float] = []
        for _ in range(10):
            await pilot.pause(1.0)  # the load moves: every poll changes figures
            result = poller.poll()  # off the loop's schedule: we time the apply only
            started = time.perf_counter()
            app._polled(ClusterPolled(result))
            for chart in app.query(MetricChart):  # what the next repaint draws
                if chart.display:
                    chart.render()
            refresh.append((time.perf_counter() - started) * 1000)
        figures["guests_in_tree"] = tree.guest_count()
        figures["refresh_ms_median"] = statistics.median(refresh)
        figures["refresh_ms_max"] = max(refresh)
        figures["poll_thread_ms_median"] = statistics.median(polls) * 1000 if polls else 0.0
    loop.stop()
    return figures


def keypress_latency(nodes: int, guests: int, presses: int) -> list[float]:
    if shutil.which("tmux") is None:
        raise SystemExit("keypress latency needs tmux (apt-get install tmux)")
    session = f"vmc-bench-{os.getpid()}"
    root = Path(__file__).resolve().parents[1]
    command = (f"{sys.executable} -m vmconsole demo --nodes {nodes} --guests {guests} "
               "--seed 7 --speed 0")

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True,
                              timeout=10).stdout

    def screen() -> str:
        return tmux("capture-pane", "-e", "-p", "-t", session)

    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40",
                    command], cwd=root, check=True, timeout=10)
    latencies: list[float] = []
    try:
        deadline = time.monotonic() + 120
        while "quorate" not in screen():
            if time.monotonic() > deadline:
                raise SystemExit("the console did not show the cluster within 120 s")
            time.sleep(0.2)
        tmux("send-keys", "-t", session, "j", "j", "j")
        time.sleep(1.0)
        for i in range(presses):
            before = screen()
            started = time.perf_counter()
            tmux("send-keys", "-t", session, "j" if i % 2 == 0 else "k")
            while screen() == before and time.perf_counter() - started < 2.0:
                pass
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.1)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True,
                       timeout=10)
    return latencies


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
    for name, value in asyncio.run(measure(args.nodes, args.guests)).items():
        print(f"{name}: {value:.1f}")
    latency = keypress_latency(args.nodes, args.guests, args.presses)
    print(f"keypress_ms_median: {statistics.median(latency):.1f}")
    print(f"keypress_ms_p95: {pct(latency, 95):.1f}")
    print(f"peak_rss_mb: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
