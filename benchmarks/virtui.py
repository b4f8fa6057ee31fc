"""Idle CPU at 2,000 libvirt domains on one host: the console against virtui-manager
(PyPI `virtui-manager`, a Textual manager for libvirt), on the same host, same run.

    python benchmarks/virtui.py [--domains 2000] [--idle 20] [--runs 3]

The host is libvirt's own test driver (`test:///FILE`) with DOMAINS running domains
written to a node file: both programs open it through libvirt-python as they would a
real host. Each runs in tmux at 120x40 with a home directory of its own (virtui-manager
set to autoconnect to the host), and is left alone once its first screen shows the
domains: after --settle seconds, the CPU of its whole process tree (every thread, user
and system, from /proc) over --idle seconds is its figure. The programs take turns,
--runs times; the medians are printed, with the bare Textual app of bare_app.py (in
the first turn only) as a floor. With the defaults a run takes about five minutes
(eight with --compare) on two busy cores.
Prints `name: value` lines:

- idle_cpu_virtui_pct: virtui-manager, percent of one core (the baseline);
- idle_cpu_libvirt_pct: the console, the whole tree live (polling every 2 s, every
  domain read in full every 10 s), and its ratio to virtui-manager's;
- idle_cpu_bare_pct: the bare Textual app, for scale;
- with `--compare CHECKOUT` (another checkout of the console, e.g. `git worktree add
  /tmp/before main`), idle_cpu_compared_pct: that checkout's console the same way, in
  the same turns, and its ratio to virtui-manager's: a change's before and after;
- each figure's turns (`..._turns`), and the load average before and after the run.

What the two programs read, idle: the console polls every 2 s; it reads every
domain's state and figures every 10 s (one `virConnectGetAllDomainStats`; on the test
driver, which gives only the state in bulk, a `virDomainGetInfo` per domain), and in
the polls between only the node, its pools and the domains whose lifecycle events came
(docs/libvirt.md, "Full reads and event-driven reads"). virtui-manager 3.3.3 reads the
figures of the cards on its page (six at 120x40) every 5 s (`STATS_INTERVAL`), lists
the domains every 60 s and hears of state changes by events.

Needs tmux and virtui-manager's command (`--virtui PATH`, default: `virtui-manager` on
PATH). Install it in a venv of its own, e.g. `python3 -m venv /tmp/virtui &&
/tmp/virtui/bin/pip install "pygobject<3.51" virtui-manager libvirt-python`, then
`--virtui /tmp/virtui/bin/virtui-manager`; its import needs PyGObject, which pip builds
with libcairo2-dev and libgirepository1.0-dev on Debian 12 (3.51 and later need
girepository-2.0, which Debian 12 lacks). Without `remote-viewer` and `websockify` on
PATH (Debian's virt-viewer and websockify) it keeps two error notifications over its
title, which hide the host's name this script waits for. A program that does not show
its domains within --start-timeout is started once more; if it fails again the run
stops and prints what its screen showed.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from vmconsole.text import visible_lines

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
_SESSIONS = itertools.count()


def node_file(path: Path, domains: int) -> None:
    """A test-driver node with DOMAINS running 1-vCPU, 1 GiB domains (libvirt's
    docs/drvtest: a <node> of <domain type='test'>, each running unless told)."""
    parts = ["<node><cpu><mhz>3000</mhz><model>x86_64</model><active>64</active>"
             "<total>64</total><nodes>1</nodes><sockets>1</sockets><cores>32</cores>"
             "<threads>2</threads></cpu><memory>1073741824</memory>"]
    for i in range(domains):
        parts.append(f"<domain type='test'><name>vm{i:04d}</name>"
                     f"<uuid>{uuid.UUID(int=i + 1)}</uuid><memory>1048576</memory>"
                     "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>")
    parts.append("</node>")
    path.write_text("\n".join(parts), encoding="utf-8")


def tree_cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of PID and every process under it (all threads)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()  # after "pid (comm) "
        stats[int(entry.name)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        fields = stats.get(current)
        if fields is not None:
            total += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
        todo += children.get(current, [])
    return total


class NotReady(Exception):
    """A program did not show its ready text in time; the message holds its screen."""


def idle_cpu_once(command: str, ready: str, settle: float, idle: float,
                  start_timeout: float) -> float:
    """Percent of one core COMMAND's processes use, idle, once READY is on its screen.
    Raises NotReady when READY does not show within START_TIMEOUT seconds (or the
    program ends first)."""
    # A name of its own per call: the server of the call before may still be exiting
    # ("server exited unexpectedly" when the next call reused its name).
    session = f"vmc-virtui-{os.getpid()}-{next(_SESSIONS)}"

    def tmux(*args: str) -> str:
        # A server of its own: another user's `tmux kill-server` cannot end the run.
        return subprocess.run(["tmux", "-L", session, *args], capture_output=True,
                              text=True, check=True, timeout=10).stdout

    # remain-on-exit, set before the program starts: one that exits at once leaves its
    # last words on the screen.
    subprocess.run(["tmux", "-L", session, "start-server", ";", "set-option", "-g",
                    "remain-on-exit", "on", ";", "new-session", "-d", "-s", session, "-x",
                    "120", "-y", "40", command], cwd=ROOT, check=True, timeout=10)
    try:
        deadline = time.monotonic() + start_timeout
        while ready not in (screen := tmux("capture-pane", "-p", "-t", session)):
            dead = tmux("display-message", "-p", "-t", session, "#{pane_dead}").strip() == "1"
            if dead or time.monotonic() > deadline:
                why = "exited" if dead else f"did not show it within {start_timeout:g} s"
                raise NotReady(f"{command!r} {why} (waiting for {ready!r}); its screen:\n"
                               f"{visible_lines(screen.strip())}")
            time.sleep(0.5)
        pid = int(tmux("display-message", "-p", "-t", session, "#{pane_pid}").strip())
        time.sleep(settle)
        cpu, wall = tree_cpu_seconds(pid), time.monotonic()
        time.sleep(idle)
        return 100 * (tree_cpu_seconds(pid) - cpu) / (time.monotonic() - wall)
    finally:
        subprocess.run(["tmux", "-L", session, "kill-server"], capture_output=True,
                       timeout=10)


def idle_cpu(command: str, ready: str, settle: float, idle: float,
             start_timeout: float) -> float:
    """`idle_cpu_once`, started a second time when the first start did not show READY
    (said on stderr, with the screen); stops the run when the second fails too."""
    try:
        return idle_cpu_once(command, ready, settle, idle, start_timeout)
    except NotReady as exc:
        print(f"{exc}\nstarting it once more", file=sys.stderr)
    try:
        return idle_cpu_once(command, ready, settle, idle, start_timeout)
    except NotReady as exc:
        raise SystemExit(str(exc)) from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", type=int, default=2000)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--settle", type=float, default=10.0,
                        help="seconds left alone after the first screen, before measuring")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--start-timeout", type=float, default=120.0,
                        help="seconds a program has to show its domains")
    parser.add_argument("--virtui", default=shutil.which("virtui-manager") or "",
                        help="virtui-manager's command")
    parser.add_argument("--compare", type=Path, default=None, metavar="CHECKOUT",
                        help="another checkout of the console, measured the same way")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("needs tmux (apt-get install tmux)")
    if not args.virtui:
        raise SystemExit("needs virtui-manager: not on PATH; install it in a venv "
                         "(see --help) and pass --virtui VENV/bin/virtui-manager")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vmc-virtui-") as tmp:
        base = Path(tmp)
        node = base / "node.xml"
        node_file(node, args.domains)
        uri = f"test://{node}"
        theirs = base / "virtui-home"
        (theirs / ".config" / "virtui-manager").mkdir(parents=True)
        (theirs / ".config" / "virtui-manager" / "config.yaml").write_text(
            f"servers:\n  - name: test\n    uri: {uri}\n    autoconnect: true\n",
            encoding="utf-8")
        ours = base / "vmconsole-home"
        ours.mkdir()
        (ours / "config.toml").write_text(
            'default_profile = "bench"\n[[profiles.bench.clusters]]\nkind = "libvirt"\n'
            f'name = "test"\nuris = ["{uri}"]\ntimeout = 300\n', encoding="utf-8")
        programs = {
            "idle_cpu_virtui_pct": (f"env HOME={theirs} {args.virtui}", f"test ({args.domains})"),
            "idle_cpu_libvirt_pct": (
                f"env HOME={ours} XDG_STATE_HOME={ours / 'state'} {sys.executable} -m "
                f"vmconsole --config {ours / 'config.toml'}",
                f"{args.domains} running of {args.domains}"),
            "idle_cpu_bare_pct": (f"{sys.executable} benchmarks/bare_app.py", "leaf 0"),
        }
        if args.compare is not None:  # `-m` puts the working directory first on the path
            programs["idle_cpu_compared_pct"] = (
                f"cd {args.compare.resolve()} && " + programs["idle_cpu_libvirt_pct"][0],
                programs["idle_cpu_libvirt_pct"][1])
        figures: dict[str, list[float]] = {name: [] for name in programs}
        for turn in range(args.runs):
            for name, (command, ready) in programs.items():
                if name == "idle_cpu_bare_pct" and turn:
                    continue  # a floor for scale, far below both: one turn is enough
                figures[name].append(idle_cpu(command, ready, args.settle, args.idle,
                                              args.start_timeout))
    print(f"domains: {args.domains}")
    medians = {name: statistics.median(values) for name, values in figures.items()}
    for name, value in medians.items():
        print(f"{name}: {value:.2f}")
        if name in ("idle_cpu_libvirt_pct", "idle_cpu_compared_pct") and medians[
                "idle_cpu_virtui_pct"]:
            print(f"ratio_{name}: {value / medians['idle_cpu_virtui_pct']:.2f}")
    for name, values in figures.items():
        print(f"{name}_turns: {' '.join(f'{v:.2f}' for v in values)}")
    print("loadavg_before: " + " ".join(f"{x:.1f}" for x in load_before))
    print("loadavg_after: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
