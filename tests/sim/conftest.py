"""Fixtures: simulated clusters on a manual clock, so minutes pass in microseconds."""

from __future__ import annotations

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
