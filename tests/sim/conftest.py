"""Fixtures: simulated clusters on a manual clock, so minutes pass in microseconds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vmconsole.backends.base import Task
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.config import SimCluster


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def lab(clock: ManualClock) -> SimBackend:
    """The classic three-node lab."""
    return SimBackend(SimCluster(), clock=clock)


def wait(clock: ManualClock, backend: SimBackend, seconds: float, step: float = 1.0) -> None:
    """Let simulated time pass, polling like the console does."""
    while seconds > 0:
        clock.advance(min(step, seconds))
        seconds -= step
        backend.inventory()


def wait_task(clock: ManualClock, backend: SimBackend, task_id: str,
              limit: float = 600.0, step: float = 0.5) -> Task:
    """Advance until the task ends (a test fails rather than spin past `limit`)."""
    waited = 0.0
    while waited < limit:
        task = backend.task(task_id)
        if task.status.done:
            return task
        clock.advance(step)
        waited += step
    raise AssertionError(f"task {task_id} still running after {limit} s")


def refusal_of_demo(*args: str) -> list[str]:
    """What `vmconsole demo ARGS` printed on stderr, line by line, having exited 2 (the
    CLI's refusal of bad input) rather than opened the console."""
    shown = subprocess.run([sys.executable, "-m", "vmconsole", "demo", *args],
                           cwd=Path(__file__).resolve().parents[2], capture_output=True,
                           text=True, timeout=60, check=False, stdin=subprocess.DEVNULL)
    assert shown.returncode == 2, shown.stderr
    return shown.stderr.splitlines()
