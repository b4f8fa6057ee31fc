"""Fixtures: simulated clusters on a manual clock, so minutes pass in microseconds."""

from __future__ import annotations

import pytest

from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.config import SimCluster


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def lab(clock: ManualClock) -> SimBackend:
    """The classic three-node lab."""
    return SimBackend(SimCluster(), clock=clock)
