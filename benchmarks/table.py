"""Run benchmarks/scale.py once and write its figures, with their baselines, issue 12's
targets and the machine's description, into the speed tables of README.md ("## Speed")
and benchmarks/README.md, between the `speed-table` markers (both files are rewritten in
place). About 5 minutes with `--startup-runs 9` (200 key presses per app).

    python benchmarks/table.py [scale.py's options, e.g. --startup-runs 9]

Anyone can run it on their machine and compare the ratios, which hold across machines
where the raw figures do not.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- speed-table:begin -->", "<!-- speed-table:end -->"

# (figure, baseline or "", unit, what it is, issue 12's target or ""). A figure whose
# target is absolute (idle CPU) shows no ratio: the bare app idles at about nothing, and
# a ratio to nearly zero says nothing (0.74 % against 0.004 % read "194x").
ROWS = (
    ("startup_s", "startup_bare_s", "s", "first full screen of the default demo, from the "
     "start of a probe script in a fresh interpreter (imports included; headless, "
     "120x40)", "≤ 1.3x"),
    ("startup_at_scale_s", "startup_bare_s", "s", "the same for the demo at scale (the "
     "nodes and guests the first line names)", "≤ 2x"),
    ("startup_s_cpu", "startup_bare_s_cpu", "s", "CPU (all threads) of the default "
     "demo's start, the same runs", ""),
    ("startup_at_scale_s_cpu", "startup_bare_s_cpu", "s", "CPU of the start at scale", ""),
    ("startup_s_cpu_to_screen", "startup_bare_s_cpu_to_screen", "s", "CPU (all threads) "
     "over the same span as startup_s: the interpreter's start and exit, which both pay, "
     "left out", ""),
    ("startup_at_scale_s_cpu_to_screen", "startup_bare_s_cpu_to_screen", "s", "the same "
     "at scale", ""),
    ("idle_cpu_pct", "idle_cpu_bare_pct", "% of a core", "main-thread CPU, idle at scale, "
     "clock running, polling every second", "≤ 5 % of a core"),
    ("poll_thread_ms_median", "sim_inventory_ms_median", "ms", "one poll in its thread "
     "(inventory, diff, history) against the simulator's inventory call alone", ""),
    ("refresh_ms_median", "", "ms", "main-thread time to apply one poll that changes the "
     "selected node's figures", ""),
    ("keypress_ms_median", "keypress_bare_ms_median", "ms", "a cursor key in tmux until "
     "the pane changes, while polling at scale (the clock paused: only the key changes "
     "the screen)", ""),
    ("keypress_ms_p95", "keypress_bare_ms_p95", "ms", "the same, 95th percentile", "≤ 1.5x"),
    ("keypress_facts_ms_median", "keypress_bare_ms_median", "ms", "the same presses until "
     "the detail pane shows the new row's facts too (`FACTS_AFTER_S` after the "
     "cursor's frame), against the bare app's first change", ""),
    ("keypress_facts_ms_p95", "keypress_bare_ms_p95", "ms", "the same, 95th percentile", ""),
    ("key_with_poll_ms_median", "key_alone_ms_median", "ms", "a cursor key to the paint "
     "of the moved cursor when a poll's result (clock running) arrived just before it",
     ""),
    ("key_with_poll_ms_p95", "key_alone_ms_p95", "ms", "the same, 95th percentile", ""),
    ("peak_rss_mb", "", "MB", "the benchmark process's peak memory", ""),
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """One line: CPU model, cores, load average at the start, Python, Textual."""
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{cpu_model()}, {os.cpu_count()} cores, load average {load} at the start; "
            f"Python {platform.python_version()}, Textual {version('textual')}, "
            f"{platform.system()} {platform.release()}; {time.strftime('%Y-%m-%d')}")


def table(figures: dict[str, float], described: str, command: str) -> str:
    scale = (f"at scale: {figures['nodes']:.0f} nodes, {figures['guests']:.0f} guests; "
             if "nodes" in figures and "guests" in figures else "")
    lines = [f"`{command}` ({scale}`benchmarks/scale.py` run once) on {described}.", "",
             "| figure | value | baseline, same run | ratio | target | what |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, baseline, unit, what, target in ROWS:
        if name not in figures:
            continue
        base = f"{figures[baseline]:.3g} {unit} (`{baseline}`)" if baseline in figures else "-"
        ratio = figures.get(f"ratio_{name}") if not target.endswith(unit) else None
        lines.append(f"| `{name}` | {figures[name]:.3g} {unit} | {base} | "
                     f"{'-' if ratio is None else f'{ratio:.2f}x'} | "
                     f"{verdict(target, figures[name], ratio)} | {what} |")
    return "\n".join(lines)


def verdict(target: str, value: float, ratio: float | None) -> str:
    """The target with whether this run meets it ("≤ 2x: not met"), or "-" for none:
    "≤ Nx" bounds the ratio, "≤ N UNIT" the value (at the precision the table shows)."""
    if not target:
        return "-"
    bound = float(target.split()[1].removesuffix("x"))
    measured = ratio if target.endswith("x") else value
    if measured is None:
        return target
    met = round(measured, 2) <= bound
    return f"{target}: {'met' if met else '**not met**'}"


def replace(path: Path, text: str) -> None:
    """Put `text` between the markers in `path` (they must be there)."""
    content = path.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(content):
        raise SystemExit(f"{path}: no {BEGIN} ... {END} markers")
    path.write_text(pattern.sub(lambda _: f"{BEGIN}\n{text}\n{END}", content))


def main() -> None:
    described = machine()  # the load average before the benchmark adds its own
    command = " ".join(["python benchmarks/table.py", *sys.argv[1:]])
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scale.py"),
                          *sys.argv[1:]], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    print(out, end="")
    figures = {}
    for line in out.splitlines():
        name, _, value = line.partition(": ")
        try:
            figures[name] = float(value)
        except ValueError:
            continue
    text = table(figures, described, command)
    for path in (ROOT / "README.md", ROOT / "benchmarks" / "README.md"):
        replace(path, text)
    print(text)


if __name__ == "__main__":
    main()
