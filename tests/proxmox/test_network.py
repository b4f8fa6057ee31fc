"""A slow or flaky API: every request ends within the timeout as Unreachable, and the
next poll recovers. fakepve's delays are in PVE seconds times its time scale (1 here)."""

from __future__ import annotations

import time

import pytest

from vmconsole.backends.base import Unreachable

TIMEOUT = 0.5


@pytest.fixture
def impatient(fakepve, connect):
    fakepve.set(time_scale=1.0)
    return connect(timeout=TIMEOUT)


def timed_failure(call):
    started = time.monotonic()
    with pytest.raises(Unreachable) as failure:
        call()
    return time.monotonic() - started, failure.value.message


def test_a_slow_api_times_out_and_the_next_poll_recovers(impatient, fakepve):
    assert impatient.inventory()
    fakepve.call("slow_network", 1.5)
    elapsed, message = timed_failure(impatient.inventory)
    assert elapsed < TIMEOUT + 0.5 and "no answer within 0.5 s" in message
    fakepve.call("slow_network", 0.0)
    assert len(impatient.inventory().guests) == 5


def test_a_hung_request_times_out(impatient, fakepve):
    fakepve.call("flaky_network", hang_rate=1.0, hang_secs=1.5)
    elapsed, _ = timed_failure(lambda: impatient.start("qemu/101"))
    assert elapsed < TIMEOUT + 0.5
    fakepve.call("flaky_network")
    assert impatient.inventory().quorum.quorate


def test_dropped_connections_are_unreachable_never_a_crash(impatient, fakepve):
    # A poll is three requests: at this rate about half the polls fail.
    fakepve.call("flaky_network", drop_rate=0.2)
    outcomes = []
    for _ in range(16):
        try:
            impatient.inventory()
            outcomes.append("ok")
        except Unreachable:
            outcomes.append("unreachable")
    assert set(outcomes) == {"ok", "unreachable"}
    fakepve.call("flaky_network")
    assert len(impatient.inventory().nodes) == 3
