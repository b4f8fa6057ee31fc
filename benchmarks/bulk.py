"""A bulk start of many guests on the simulator: `name: value` lines, each figure next
to its baseline measured in the same run.

    python benchmarks/bulk.py --guests 200 --cap 4 --time-scale 20

The console runs headless (Textual's run_test, 120x40) on a simulated cluster of
--nodes nodes with its poll loop polling every second, as the launcher runs it. Every
guest but the templates is stopped first; then all of them are marked and started by
one bulk action (`s`, then `y` in the confirmation), --cap at a time.

- bulk_guests: the guests the bulk action started (templates are skipped).
- bulk_wall_s: from the `y` to the summary task's end (every start task ended).
  Baseline bulk_floor_s: the least it can take, ceil(guests / cap) rounds of one
  start task each (the simulator's 1.2 s for a VM, 1.8 s for a container, divided by
  --time-scale).
- frame_worst_ms / frame_p99_ms: the main thread's frames while the bulk action runs,
  measured as an asyncio probe's lateness: it asks to wake every 10 ms on the event
  loop and records how late it wakes (a frame the loop spent elsewhere: applying a
  poll, repainting the task log, handling a progress message). Baseline
  idle_frame_worst_ms / idle_frame_p99_ms: the same probe for --idle seconds before
  the bulk action, the poll loop polling the same cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vmconsole.backends.sim import open_sim
from vmconsole.config import Config, SimCluster
from vmconsole.config.sim_limits import max_time_scale
from vmconsole.model import GuestKind
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.modals.bulk import BulkConfirmScreen
from vmconsole.ui.widgets.cluster_tree import ClusterTree

TICK_S = 0.010
START_S = {GuestKind.VM: 1.2, GuestKind.CT: 1.8}  # the simulator's (sim/power.py)


class FrameProbe:
    """How late the event loop wakes a 10 ms sleeper, in ms, while it runs."""

    def __init__(self) -> None:
        self.late: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(TICK_S)
            self.late.append((time.perf_counter() - asked - TICK_S) * 1000)

    def start(self) -> None:
        self.late = []
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> list[float]:
        assert self._task is not None
        self._task.cancel()
        return self.late


def p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[98]


async def wait_for(pilot, condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"not within {seconds} s: {what}")
        await pilot.pause(0.05)


async def measure(args: argparse.Namespace) -> dict[str, float]:
    backend = open_sim(SimCluster(name="bench", nodes=args.nodes, guests=args.guests + 2,
                                  time_scale=max_time_scale(args.nodes, args.guests + 2)))
    guests = [g for g in backend.inventory().guests if not g.template]
    for guest in guests:  # stopped fast, before the figures begin
        if guest.running:
            backend.stop(guest.id)
    while any(g.running for g in backend.inventory().guests):
        time.sleep(0.01)
    backend.set_time_scale(args.time_scale)
    loop = PollLoop(Poller(backend, interval=1.0))
    app = VMConsoleApp([loop], config=Config(bulk_concurrency=args.cap))
    probe = FrameProbe()
    figures: dict[str, float] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        loop.start()
        try:
            await wait_for(pilot, lambda: "bench" in app.latest, 30, "the first poll")
            probe.start()
            await asyncio.sleep(args.idle)
            idle = probe.stop()
            tree = app.query_one(ClusterTree)
            tree.focus()
            await pilot.press("asterisk")
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, BulkConfirmScreen), 60,
                           "the confirmation")
            probe.start()
            began = time.perf_counter()
            await pilot.press("y")
            await wait_for(pilot, lambda: any(w.group == "bulk" for w in app.workers), 10,
                           "the bulk action")
            await wait_for(pilot, lambda: all(w.is_finished for w in app.workers
                                              if w.group == "bulk"), args.timeout,
                           "the bulk action's end")
            wall = time.perf_counter() - began
            busy = probe.stop()
        finally:
            loop.stop()
    started = sum(1 for g in backend.inventory().guests if g.running)
    rounds = math.ceil(len(guests) / args.cap)
    start_s = max(START_S[g.kind] for g in guests)
    figures["bulk_guests"] = started
    figures["bulk_wall_s"] = wall
    figures["bulk_floor_s"] = rounds * start_s / args.time_scale
    figures["frame_worst_ms"] = max(busy)
    figures["idle_frame_worst_ms"] = max(idle)
    figures["frame_p99_ms"] = p99(busy)
    figures["idle_frame_p99_ms"] = p99(idle)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--guests", type=int, default=200)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--cap", type=int, default=4, help="guests at once (bulk_concurrency)")
    parser.add_argument("--time-scale", type=float, default=20.0,
                        help="simulated seconds per real second while the starts run")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of the idle baseline")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    for name, value in asyncio.run(measure(args)).items():
        print(f"{name}: {value:.0f}" if name == "bulk_guests" else f"{name}: {value:.3f}")


if __name__ == "__main__":
    main()
