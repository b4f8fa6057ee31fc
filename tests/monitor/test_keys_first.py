"""A poll steps aside while a console handles a key (`vmconsole.give_way`), for a bounded
time: the key reaches the screen sooner, and keys that never stop cannot stop the polls."""

from __future__ import annotations

import threading
import time

import pytest

from vmconsole import give_way
from vmconsole.backends.sim.backend import SimBackend
from vmconsole.backends.sim.clock import ManualClock
from vmconsole.config import SimCluster
from vmconsole.monitor import poller
from vmconsole.monitor.poller import Poller


@pytest.fixture
def key_under_way():
    give_way.key_started()
    try:
        yield
    finally:
        give_way.key_ended()


def timed_poll(p: Poller) -> float:
    started = time.monotonic()
    assert p.poll().ok
    return time.monotonic() - started


def test_a_poll_waits_for_the_key_under_way_then_goes_on():
    p = Poller(SimBackend(SimCluster(nodes=3, guests=600), clock=ManualClock()))
    give_way.key_started()
    ended = threading.Event()

    def key_handled() -> None:
        time.sleep(0.05)  # the console handling its key, meanwhile
        ended.set()
        give_way.key_ended()

    threading.Thread(target=key_handled).start()
    took = timed_poll(p)
    assert ended.is_set()
    assert 0.04 <= took < 2.0


def test_keys_that_never_stop_delay_a_poll_by_its_budget_at_most(key_under_way, monkeypatch):
    monkeypatch.setattr(poller, "KEYS_FIRST_S", 0.2)
    p = Poller(SimBackend(SimCluster(nodes=3, guests=600), clock=ManualClock()))
    assert 0.2 <= timed_poll(p) < 2.0
    assert 0.2 <= timed_poll(p) < 2.0  # each poll has its own budget


def test_only_a_poll_steps_aside(key_under_way):
    """Outside a poll (the HA manager's reads, an operation's worker, a test) nothing
    waits for keys."""
    started = time.monotonic()
    for _ in range(1000):
        give_way.give_way()
    assert time.monotonic() - started < 0.1


def test_a_poll_with_no_key_under_way_does_not_wait():
    p = Poller(SimBackend(SimCluster(nodes=3, guests=600), clock=ManualClock()))
    timed_poll(p)
    give_way.key_started()
    give_way.key_started()  # two consoles' keys
    give_way.key_ended()
    give_way.key_ended()
    with give_way.stepping_aside(5.0):
        started = time.monotonic()
        give_way.give_way()
        assert time.monotonic() - started < 0.1
