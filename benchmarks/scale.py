"""How the console copes with a large cluster: `name: value` lines, each figure next to
its baseline measured in the same run, and its ratio to it (`ratio_*`), so a figure can
be checked on any machine, however fast or loaded.

    python benchmarks/scale.py --nodes 100 --guests 10000

Baselines: `benchmarks/bare_app.py` (a bare Textual app with a 100-leaf tree) for the
first screen, idle CPU and the keypress probe; the backend's own inventory call for the
poll thread.

- startup_s / startup_at_scale_s: from process start to the first full screen of the
  default demo / of the demo at --nodes x --guests (a fresh interpreter, imports
  included, bytecode cached as pip leaves it; median of --startup-runs after a warm-up
  run, the three probes taking turns); baseline startup_bare_s, the bare app the same
  way. The console's probe looks for the first poll's guests every 5 ms with a plain
  sleep and then, like the bare one, waits once for the screen (`pilot.pause`): a
  pause asks each widget to call back, and 20 of them cost the console's start 30-60
  ms that the bare app's single one does not. The `_cpu` figures are the same starts'
  CPU seconds (every thread, user and system), which a loaded machine disturbs less
  than wall time; `_cpu_to_screen` the CPU of the same span as the wall time (the
  `_cpu` figures also count the interpreter's start and exit, alike for both).
- idle_cpu_pct: main-thread CPU (time.thread_time) while the console shows the cluster
  at --guests, the simulated clock running and the poll thread polling every second,
  nobody touching a key, over --idle seconds; baseline idle_cpu_bare_pct, the bare app.
- poll_thread_ms_median: one poll (inventory, tasks, events, history, diff) in its own
  thread; baseline sim_inventory_ms_median, the simulator's inventory call inside it.
- refresh_ms_*: main-thread time to apply one poll (tree diff, task log, teaching panel,
  the selected node's detail pane and the drawing of its three charts) while the
  simulated load changes (no baseline: the bare app has no polls).
- keypress_ms_*: the app runs in tmux at 120x40; a cursor key is sent once the pane
  has been still for 0.3 s, and the pane is read until the screen has changed (end to
  end: terminal, input, repaint: the first change, the moved cursor). keypress_facts_ms_*:
  the same presses, until the detail pane (right of column FACTS_COLUMN) has changed
  too: the facts of the new row, which the console works out `FACTS_AFTER_S` after
  the key's frame (`ui/app.py`); against the bare app's first change, which has no
  pane. The charts of a new selection follow once the keys stop. The console
  runs the demo at --guests with its clock paused (--speed 0) so only the key changes
  the screen while the poll thread keeps polling; baseline keypress_bare_ms_*. The
  apps run at once and take turns press by press (`keypress_latency`).
- key_with_poll_ms_*: in the same app as refresh_ms_*, a cursor key whose poll's
  result arrived just before it, to the paint showing the cursor moved (the console
  applies that result after the key: `ui.input_first`); baseline key_alone_ms_*, the
  same key with no poll, the two taking turns.
- peak_rss_mb: the benchmark process's peak resident memory at the end.

`--startup-only` prints the startup figures alone (a minute, not ten);
`--keypress-only` the keypress figures alone (three minutes: `--presses`, 200 by
default, per app). `--compare CHECKOUT`
(another checkout of the console, e.g. `git worktree add --detach /tmp/before HEAD~1`) adds its
starts to the same turns: startup_compared_s and startup_at_scale_compared_s, and its
key presses: keypress_compared_ms_*, each with its ratio to the bare app, so a change
is measured against what it changed under the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual import events

from benchmarks.bare_app import READY, BareApp
from vmconsole.backends.sim import open_sim
from vmconsole.config import SimCluster
from vmconsole.config.sim_limits import shape_refusals
from vmconsole.model import Inventory
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.messages import ClusterPolled
from vmconsole.ui.widgets.cluster_tree import ClusterTree
from vmconsole.ui.widgets.metric_chart import MetricChart

ROOT = Path(__file__).resolve().parents[1]
STARTUP_PROBE = """
import asyncio, sys, time
t0, c0 = time.perf_counter(), time.process_time()
sys.path.insert(0, {root!r})
from vmconsole.ui.launch import open_loops
from vmconsole.config import SimCluster
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.widgets.cluster_tree import ClusterTree
async def main():
    loops = open_loops((SimCluster({cluster}),))
    for loop in loops:
        loop.start()
    app = VMConsoleApp(loops)
    async with app.run_test(size=(120, 40)) as pilot:
        while app.query_one(ClusterTree).guest_count() == 0:
            await asyncio.sleep(0.005)
        await pilot.pause()
        print(time.process_time() - c0)
        print(time.perf_counter() - t0)
    for loop in loops:
        loop.stop()
asyncio.run(main())
"""

BARE_STARTUP_PROBE = """
import asyncio, sys, time
t0, c0 = time.perf_counter(), time.process_time()
sys.path.insert(0, {root!r})
from benchmarks.bare_app import BareApp
async def main():
    app = BareApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        print(time.process_time() - c0)
        print(time.perf_counter() - t0)
asyncio.run(main())
"""


_SESSIONS = itertools.count()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def main_thread_cpu(pilot: object, seconds: float) -> float:
    """Percent of one core the event loop's thread used over `seconds` of wall time."""
    cpu, wall = time.thread_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    return 100 * (time.thread_time() - cpu) / (time.perf_counter() - wall)


async def bare_idle_cpu(seconds: float) -> float:
    app = BareApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        return await main_thread_cpu(pilot, seconds)


async def measure(nodes: int, guests: int, idle: float) -> dict[str, float]:
    backend = open_sim(SimCluster(nodes=nodes, guests=guests, seed=7))
    inventory_call: Callable[[], Inventory] = backend.inventory
    inventories: list[float] = []

    def timed_inventory() -> Inventory:
        started = time.monotonic()
        try:
            return inventory_call()
        finally:
            inventories.append(time.monotonic() - started)

    backend.inventory = timed_inventory  # type: ignore[method-assign]
    poller = Poller(backend, interval=1.0)
    loop = PollLoop(poller)
    polls: list[float] = []
    loop.subscribe(lambda r: polls.append(r.duration))
    app = VMConsoleApp([loop])
    figures: dict[str, float] = {}
    sys.setswitchinterval(0.001)  # as the console's launcher sets it (ui/launch.py)
    async with app.run_test(size=(120, 40)) as pilot:
        loop.start()
        tree = app.query_one(ClusterTree)
        deadline = time.monotonic() + 120
        while tree.guest_count() < guests and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.pause(1.0)
        figures["idle_cpu_pct"] = await main_thread_cpu(pilot, idle)  # the cluster selected
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
        loop.stop()  # from here on the polls are the benchmark's own
        figures.update(await key_with_poll(app, poller, tree))
    loop.stop()
    # The first poll builds every entry; the rest are the steady state.
    figures["poll_thread_ms_median"] = statistics.median(polls[1:]) * 1000
    figures["sim_inventory_ms_median"] = statistics.median(inventories[1:]) * 1000
    return figures


async def key_with_poll(app: VMConsoleApp, poller: Poller, tree: ClusterTree,
                        rounds: int = 20) -> dict[str, float]:
    """key_with_poll_ms_*: main-thread milliseconds from a cursor key's arrival to the
    end of the paint that shows the cursor moved, when a poll's result (the clock
    running: the selected node's figures and charts change) arrived just before it;
    baseline key_alone_ms_*, the same key with no poll, the two taking turns."""
    screen = app.screen
    paint = screen._compositor_refresh
    wanted, painted = [-1], [0.0]

    def timed_paint() -> None:
        paint()
        if tree.cursor_line == wanted[0] and not painted[0]:
            painted[0] = time.perf_counter()

    screen._compositor_refresh = timed_paint  # type: ignore[method-assign]
    times: dict[bool, list[float]] = {False: [], True: []}
    try:
        for i in range(2 * rounds):
            await asyncio.sleep(0.5)  # the charts of the last selection drawn, the clock on
            with_poll = i % 4 in (1, 2)  # alone, with, with, alone: each follows each
            result = poller.poll() if with_poll else None  # the poll thread's work: untimed
            down = tree.cursor_line % 2 == 1  # between node pve1 (line 1) and its first guest
            wanted[0], painted[0] = tree.cursor_line + (1 if down else -1), 0.0
            started = time.perf_counter()
            if result is not None:
                app.post_message(ClusterPolled(result))
            app.post_message(events.Key("j" if down else "k", None))
            deadline = started + 10
            while not painted[0] and time.perf_counter() < deadline:
                await asyncio.sleep(0.001)
            times[with_poll].append((painted[0] or deadline) - started)
    finally:
        screen._compositor_refresh = paint  # type: ignore[method-assign]
    return {"key_alone_ms_median": statistics.median(times[False]) * 1000,
            "key_alone_ms_p95": pct(times[False], 95) * 1000,
            "key_with_poll_ms_median": statistics.median(times[True]) * 1000,
            "key_with_poll_ms_p95": pct(times[True], 95) * 1000}


def quiet(screen: Callable[[], str], still: float = 0.3, limit: float = 3.0) -> str:
    """The pane once it has not changed for STILL seconds (at most LIMIT): what a key
    set off after the first change (the charts of a new selection, drawn once the keys
    stop) must not be taken for the next key's change."""
    shown, since, started = screen(), time.perf_counter(), time.perf_counter()
    while time.perf_counter() - since < still and time.perf_counter() - started < limit:
        time.sleep(0.02)
        now = screen()
        if now != shown:
            shown, since = now, time.perf_counter()
    return shown


#: The detail pane's first column at 120x40: a change right of it is the facts'.
FACTS_COLUMN = 50


@dataclass(frozen=True)
class KeypressProbe:
    """An app to press keys in: the command that runs it, from `cwd`, a text on its
    screen once it is ready, and whether it has a detail pane whose change
    (`FACTS_COLUMN`) is timed too."""

    command: str
    ready: str
    cwd: Path = ROOT
    facts: bool = False


def keypress_latency(probes: dict[str, KeypressProbe], presses: int) -> dict[str, list[float]]:
    """Milliseconds from sending j or k to each probe's pane in tmux to a changed pane,
    PRESSES times each; for a probe with `facts`, also (as NAME_facts) to a change
    right of FACTS_COLUMN. Every app runs at once, each in a tmux server of its own; they
    take turns press by press (the first of each turn moving round), so that a change
    in the machine's load falls on each alike, as `startup_seconds` turns do. The apps
    not being measured wait meanwhile (a console's poll thread still polls)."""
    if shutil.which("tmux") is None:
        raise SystemExit("keypress latency needs tmux (apt-get install tmux)")
    # A name of its own per app: the server of a call before may still be exiting
    # ("server exited unexpectedly" when the next call reused its name).
    sessions = {name: f"vmc-bench-{os.getpid()}-{next(_SESSIONS)}" for name in probes}

    def tmux(session: str, *args: str) -> str:
        # A server of its own: another user's `tmux kill-server` cannot end the run.
        return subprocess.run(["tmux", "-L", session, *args], capture_output=True,
                              text=True, check=True, timeout=10).stdout

    def screen(session: str) -> Callable[[], str]:
        return lambda: tmux(session, "capture-pane", "-e", "-p", "-t", session)

    def pane(session: str) -> list[str]:  # plain text: its columns are the screen's
        return [line[FACTS_COLUMN:] for line in
                tmux(session, "capture-pane", "-p", "-t", session).splitlines()]

    latencies: dict[str, list[float]] = {name: [] for name in probes}
    latencies.update({f"{name}_facts": [] for name, probe in probes.items() if probe.facts})
    try:
        for name, probe in probes.items():
            session = sessions[name]
            subprocess.run(["tmux", "-L", session, "new-session", "-d", "-s", session,
                            "-x", "120", "-y", "40", probe.command], cwd=probe.cwd,
                           check=True, timeout=10)
        for name, probe in probes.items():
            deadline = time.monotonic() + 120
            while probe.ready not in screen(sessions[name])():
                if time.monotonic() > deadline:
                    raise SystemExit(f"{probe.command!r} did not show {probe.ready!r} "
                                     "within 120 s")
                time.sleep(0.2)
            tmux(sessions[name], "send-keys", "-t", sessions[name], "j", "j", "j")
        time.sleep(1.0)
        names = list(probes)
        for i in range(presses):
            for name in names[i % len(names):] + names[:i % len(names)]:
                session = sessions[name]
                shown = screen(session)
                before = quiet(shown)
                facts = pane(session) if probes[name].facts else None
                started = time.perf_counter()
                tmux(session, "send-keys", "-t", session, "j" if i % 2 == 0 else "k")
                while shown() == before and time.perf_counter() - started < 2.0:
                    pass
                latencies[name].append((time.perf_counter() - started) * 1000)
                if facts is not None:
                    while pane(session) == facts and time.perf_counter() - started < 2.0:
                        pass
                    latencies[f"{name}_facts"].append((time.perf_counter() - started) * 1000)
    finally:
        for session in sessions.values():
            subprocess.run(["tmux", "-L", session, "kill-server"], capture_output=True,
                           timeout=10)
    return latencies


def startup_seconds(probes: dict[str, str], runs: int) -> dict[str, float]:
    """Each probe's median wall seconds to its first full screen (what it prints) and
    median CPU seconds (user and system, every thread) as `NAME` and `NAME_cpu`, over
    RUNS fresh interpreters after one warm-up run of each; `NAME_cpu_to_screen` is the
    CPU of the same span as the wall time (the process's, from the probe's first line
    to its first full screen). The probes take turns, so a change in the machine's load
    falls on each alike.

    `NAME_cpu` also counts the interpreter's start and the app's exit, about 0.2 s
    alike for the console and the bare app, which narrows its ratio: compare wall time
    with `_cpu_to_screen`. Where the two ratios agree, the start is work, not waiting.

    Started as an installed program starts: with its modules' bytecode cached. pip
    compiles a package's bytecode when it installs it (Textual's is), but an editable
    checkout run with PYTHONDONTWRITEBYTECODE set compiles every module of the console
    from source on every start (about 0.3 s here), which the baseline never pays."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    wall: dict[str, list[float]] = {name: [] for name in probes}
    cpu: dict[str, list[float]] = {name: [] for name in probes}
    to_screen: dict[str, list[float]] = {name: [] for name in probes}
    for _ in range(runs + 1):
        for name, probe in probes.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            out = subprocess.run([sys.executable, "-c", probe], capture_output=True,
                                 text=True, timeout=300, check=True, env=env)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            *_, screen_cpu, screen_wall = out.stdout.strip().splitlines()
            wall[name].append(float(screen_wall))
            to_screen[name].append(float(screen_cpu))
            cpu[name].append(after.ru_utime + after.ru_stime
                             - before.ru_utime - before.ru_stime)
    figures = {name: statistics.median(times[1:]) for name, times in wall.items()}
    figures.update({f"{name}_cpu": statistics.median(times[1:])
                    for name, times in cpu.items()})
    figures.update({f"{name}_cpu_to_screen": statistics.median(times[1:])
                    for name, times in to_screen.items()})
    return figures


def show(name: str, value: float, baseline: str | None = None,
         figures: dict[str, float] | None = None) -> None:
    """Print `name: value`, and `ratio_name: value / baseline` when a baseline is named."""
    print(f"{name}: {value:.3f}" if value < 10 else f"{name}: {value:.1f}")
    if baseline is not None and figures is not None and figures.get(baseline):
        print(f"ratio_{name}: {value / figures[baseline]:.2f}")


def keypresses(args: argparse.Namespace, f: dict[str, float]) -> None:
    """The keypress figures of the bare app, the console and, with --compare, the other
    checkout's console, their presses taking turns (`keypress_latency`)."""
    demo = (f"{sys.executable} -m vmconsole demo --nodes {args.nodes} --guests "
            f"{args.guests} --seed 7 --speed 0")
    probes = {"bare": KeypressProbe(f"{sys.executable} benchmarks/bare_app.py", READY),
              "": KeypressProbe(demo, "quorate", facts=True)}
    if args.compare is not None:  # `-m vmconsole` from there: its checkout's console
        probes["compared"] = KeypressProbe(demo, "quorate", args.compare.resolve(),
                                           facts=True)
    latency = keypress_latency(probes, args.presses)
    f["keypress_bare_ms_median"] = statistics.median(latency["bare"])
    f["keypress_bare_ms_p95"] = pct(latency["bare"], 95)
    show("keypress_bare_ms_median", f["keypress_bare_ms_median"])
    show("keypress_bare_ms_p95", f["keypress_bare_ms_p95"])
    for name in probes:
        if name != "bare":
            prefix = f"keypress_{name}_ms" if name else "keypress_ms"
            show(f"{prefix}_median", statistics.median(latency[name]),
                 "keypress_bare_ms_median", f)
            show(f"{prefix}_p95", pct(latency[name], 95), "keypress_bare_ms_p95", f)
            facts = f"keypress_{name}_facts_ms" if name else "keypress_facts_ms"
            show(f"{facts}_median", statistics.median(latency[f"{name}_facts"]),
                 "keypress_bare_ms_median", f)
            show(f"{facts}_p95", pct(latency[f"{name}_facts"], 95), "keypress_bare_ms_p95", f)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--guests", type=int, default=10000)
    # A p95 of 60 presses is their 4th slowest, which two or three presses that meet
    # a poll (one in thirty at 10,000 guests) decide alone; of 200, the 11th slowest.
    parser.add_argument("--presses", type=int, default=200,
                        help="cursor keys per app in the keypress probe")
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU")
    parser.add_argument("--startup-only", action="store_true",
                        help="the startup figures alone")
    parser.add_argument("--keypress-only", action="store_true",
                        help="the keypress figures alone")
    parser.add_argument("--compare", type=Path, default=None, metavar="CHECKOUT",
                        help="another checkout's starts and key presses in the same turns")
    args = parser.parse_args()
    refused = [f"--{key} must be {reason}" for key, reason in
               shape_refusals(args.nodes, args.guests, 0).items()]
    refused += [f"--{name} must be at least 1" for name, value in (
        ("presses", args.presses), ("startup-runs", args.startup_runs)) if value < 1]
    if not 0 < args.idle <= 3600:  # NaN too: a figure over no time is no figure
        refused.append("--idle must be above 0 and at most 3600 seconds")
    if args.compare is not None and not (args.compare / "vmconsole" / "__init__.py").is_file():
        # Without this, the probes' `sys.path` and `-m vmconsole` would find no console
        # there and import this checkout's (installed editable): measured as "compared".
        refused.append(f"--compare {args.compare}: no checkout of the console there "
                       "(no vmconsole/__init__.py)")
    if refused:
        parser.error("; ".join(refused))
    print(f"nodes: {args.nodes}")
    print(f"guests: {args.guests}")
    at_scale = f"nodes={args.nodes}, guests={args.guests}, seed=7"
    probes = {"startup_bare_s": BARE_STARTUP_PROBE.format(root=str(ROOT))}
    for suffix, root in (("", ROOT), ("_compared", args.compare)):
        if root is not None:
            probes[f"startup{suffix}_s"] = STARTUP_PROBE.format(
                root=str(root.resolve()), cluster="")
            probes[f"startup_at_scale{suffix}_s"] = STARTUP_PROBE.format(
                root=str(root.resolve()), cluster=at_scale)
    f: dict[str, float] = {}
    if args.keypress_only:
        keypresses(args, f)
        return
    f.update(startup_seconds(probes, args.startup_runs))
    for unit in ("", "_cpu", "_cpu_to_screen"):
        show(f"startup_bare_s{unit}", f[f"startup_bare_s{unit}"])
        for name in probes:
            if name != "startup_bare_s":
                show(f"{name}{unit}", f[f"{name}{unit}"], f"startup_bare_s{unit}", f)
    if args.startup_only:
        return
    f["idle_cpu_bare_pct"] = asyncio.run(bare_idle_cpu(args.idle))
    f.update(asyncio.run(measure(args.nodes, args.guests, args.idle)))
    show("idle_cpu_bare_pct", f["idle_cpu_bare_pct"])
    show("idle_cpu_pct", f["idle_cpu_pct"], "idle_cpu_bare_pct", f)
    show("sim_inventory_ms_median", f["sim_inventory_ms_median"])
    show("poll_thread_ms_median", f["poll_thread_ms_median"], "sim_inventory_ms_median", f)
    for name in ("guests_in_tree", "refresh_ms_median", "refresh_ms_max"):
        show(name, f[name])
    for unit in ("median", "p95"):
        show(f"key_alone_ms_{unit}", f[f"key_alone_ms_{unit}"])
        show(f"key_with_poll_ms_{unit}", f[f"key_with_poll_ms_{unit}"],
             f"key_alone_ms_{unit}", f)
    keypresses(args, f)
    show("peak_rss_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


if __name__ == "__main__":
    main()
