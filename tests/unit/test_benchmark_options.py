"""`benchmarks/scale.py` refuses what would print no figure or a wrong one (a tester's
findings): `--compare` with a path holding no console measured this checkout and
called it "compared"; `--idle -1` printed 101 % idle CPU; `--startup-runs 0` ended in a
StatisticsError traceback. Each is refused before anything is measured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCALE = Path(__file__).resolve().parents[2] / "benchmarks" / "scale.py"


@pytest.mark.parametrize(("options", "said"), [
    (["--compare", "/nonexistent"], "--compare /nonexistent: no checkout of the console"),
    (["--compare", "/tmp"], "--compare /tmp: no checkout of the console there"),
    (["--idle", "-1"], "--idle must be above 0 and at most 3600 seconds"),
    (["--idle", "nan"], "--idle must be above 0 and at most 3600 seconds"),
    (["--startup-runs", "0"], "--startup-runs must be at least 1"),
    (["--presses", "0"], "--presses must be at least 1"),
    (["--nodes", "0"], "--nodes must be between 1 and 1000"),
    (["--guests", "-5"], "--guests must be between 0 and 100000"),
])
def test_scale_refuses_options_that_would_measure_nothing_or_the_wrong_tree(options, said):
    done = subprocess.run([sys.executable, str(SCALE), *options], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert said in done.stderr
    assert done.stdout == ""  # refused before the first figure
