"""A session's console draws the latest poll once, whatever arrived while it was busy
(serve/remote.py, RemoteLoop.receive and publish): nothing of the polls it skipped is
lost, neither a change in the tree nor an event."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace

import pytest

from vmconsole.backends.abilities import ClusterEvent
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim.backend import SimBackend
from vmconsole.backends.sim.clock import ManualClock
from vmconsole.config import SimCluster
from vmconsole.model import GuestStatus, Inventory, Quorum
from vmconsole.monitor.poller import PollResult
from vmconsole.serve.hub import BackendState, ClusterInfo
from vmconsole.serve.remote import CallChannel, RemoteLoop
from vmconsole.ui.labels import label_key


@pytest.fixture
def loop() -> Iterator[RemoteLoop]:
    ours, theirs = socket.socketpair()
    backend = SimBackend(SimCluster(), clock=ManualClock())
    info = ClusterInfo("lab", "sim://lab", backend.capabilities, ("time_control",))
    backend.close()
    remote = RemoteLoop(info, CallChannel(ours))
    remote.poller.label_key = label_key  # as the console sets it (base_app.py)
    yield remote
    theirs.close()
    ours.close()


def _inventory() -> Inventory:
    backend = SimBackend(SimCluster(), clock=ManualClock())
    try:
        return backend.inventory()
    finally:
        backend.close()


def _stopped(inventory: Inventory, index: int, at: float) -> Inventory:
    """`inventory` a moment later, its guest number `index` stopped."""
    guests = list(inventory.guests)
    guests[index] = replace(guests[index], status=GuestStatus.STOPPED)
    return replace(inventory, guests=tuple(guests), taken_at=at)


def _event(seq: int, message: str) -> ClusterEvent:
    return ClusterEvent(seq, float(seq), EventKind.GUEST_STOPPED, message)


def _poll(seq: int, inventory: Inventory, before: Inventory | None,
          events: tuple[ClusterEvent, ...] = ()) -> PollResult:
    """A poll as the hub sends it: its diff since the hub's poll before."""
    diff = before.diff(inventory, label_key) if before is not None else None
    return PollResult("lab", seq, inventory, diff, 0.01, 1.0, events=events)


def test_polls_that_arrive_while_the_console_is_busy_are_drawn_once_with_all_they_bring(
        loop: RemoteLoop) -> None:
    drawn: list[PollResult] = []
    loop.subscribe(drawn.append)
    first = _inventory()
    second = _stopped(first, 0, first.taken_at + 1)
    third = _stopped(second, 1, first.taken_at + 2)
    a, b = first.guests[0].id, first.guests[1].id
    assert first.guests[0].status is not GuestStatus.STOPPED
    assert first.guests[1].status is not GuestStatus.STOPPED

    assert loop.receive(_poll(1, first, None), BackendState())  # schedule a publication
    loop.publish()
    # Two polls while the console is busy: one publication, scheduled by the first.
    assert loop.receive(_poll(2, second, first, (_event(1, "a stopped"),)), BackendState())
    assert not loop.receive(_poll(3, third, second, (_event(2, "b stopped"),)),
                            BackendState(2.0))
    loop.publish()
    loop.publish()  # nothing waits: nothing drawn again

    assert [r.seq for r in drawn] == [1, 3]
    latest = drawn[-1]
    assert latest.inventory is third
    assert [e.message for e in latest.events] == ["a stopped", "b stopped"]
    # The hub's diff of poll 3 knows only b; the console drew poll 1, so both changed.
    assert latest.diff is not None
    assert {a, b} <= set(latest.diff.relabelled)
    assert loop.backend.time_scale == 2.0  # the latest poll's state


def test_a_failed_poll_after_a_skipped_one_keeps_the_skipped_changes(
        loop: RemoteLoop) -> None:
    drawn: list[PollResult] = []
    loop.subscribe(drawn.append)
    first = _inventory()
    second = _stopped(first, 0, first.taken_at + 1)
    loop.receive(_poll(1, first, None), BackendState())
    loop.publish()
    loop.receive(_poll(2, second, first), BackendState())
    # A failed poll carries the last good inventory and no diff.
    failed = PollResult("lab", 3, second, None, 0.01, 1.0, error="timed out", failures=1)
    loop.receive(failed, BackendState())
    loop.publish()
    latest = drawn[-1]
    assert latest.error == "timed out"
    assert latest.diff is not None and first.guests[0].id in latest.diff.changed


def test_a_poll_after_a_gap_brings_the_changes_since_the_poll_drawn(
        loop: RemoteLoop) -> None:
    """A console drawn in advance (pool.py) drew poll 1 and is handed out at poll 3:
    poll 2's changes (a guest stopped, the quorum lost) are not in the hub's diff of
    poll 3, which is since poll 2."""
    drawn: list[PollResult] = []
    loop.subscribe(drawn.append)
    first = _inventory()
    assert first.quorum is not None
    second = replace(_stopped(first, 0, first.taken_at + 1),
                     quorum=Quorum(2, first.quorum.expected, quorate=True))
    third = _stopped(second, 1, first.taken_at + 2)
    loop.receive(_poll(1, first, None), BackendState())
    loop.publish()
    assert loop.receive(_poll(3, third, second), BackendState())
    loop.publish()
    diff = drawn[-1].diff
    assert diff is not None and diff.cluster_changed
    assert {first.guests[0].id, first.guests[1].id} <= set(diff.relabelled)
    # The next poll follows the one drawn: the hub's own diff, as it came.
    fourth = replace(third, taken_at=first.taken_at + 3)
    sent = _poll(4, fourth, third)
    loop.receive(sent, BackendState())
    loop.publish()
    assert drawn[-1].diff is sent.diff
