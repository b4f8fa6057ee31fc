"""The collector paused for the simulator's bulk builds is back as it was after them,
whatever overlaps: a console whose collector stayed off would grow without end."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.backends.sim.collector import collector_paused
from vmconsole.config import SimCluster


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_a_build_and_its_inventory_leave_the_collector_on(collector_on: None) -> None:
    backend = SimBackend(SimCluster(nodes=3, guests=30), clock=ManualClock())
    backend.inventory()
    backend.start_scenario(None)
    assert gc.isenabled()


def test_overlapping_pauses_in_two_threads_end_with_the_collector_on(
        collector_on: None) -> None:
    inside, release = threading.Event(), threading.Event()

    def other_build() -> None:
        with collector_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other_build)
    with collector_paused():
        thread.start()
        assert inside.wait(10)
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread's build goes on
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_pause_leaves_a_collector_that_was_off_off(collector_on: None) -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


@pytest.fixture
def thawed_after() -> Iterator[None]:
    yield
    gc.unfreeze()  # what the test froze goes back to the collector's oldest generation


def test_a_large_build_is_frozen_and_a_small_one_is_not(collector_on: None,
                                                       thawed_after: None) -> None:
    """A build that leaves tens of thousands of objects freezes them, so no collection
    walks them again; the classic lab's build and poll leave the collector alone."""
    frozen = gc.get_freeze_count()
    lab = SimBackend(SimCluster(), clock=ManualClock())
    lab.inventory()
    assert gc.get_freeze_count() == frozen
    SimBackend(SimCluster(nodes=10, guests=3000), clock=ManualClock())
    assert gc.get_freeze_count() >= frozen + 3000 * 10  # guests, disks, running copies
    assert gc.isenabled()
