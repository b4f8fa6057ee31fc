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
from vmconsole.serve.calls import CallChannel
from vmconsole.serve.hub import BackendState, ClusterInfo, EarlierEvents
from vmconsole.serve.remote import RemoteLoop
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


def test_a_poll_after_a_gap_brings_the_events_of_the_polls_between_once(
        loop: RemoteLoop) -> None:
    """The last note's leftover: a console drawn in advance drew poll 1 and is handed
    out at poll 5; its events panel lacked the events of polls 2 to 4. The hub sends
    those it keeps as the session attaches (hub.EarlierEvents), then poll 5."""
    drawn: list[PollResult] = []
    loop.subscribe(drawn.append)
    first = _inventory()
    fifth = replace(first, taken_at=first.taken_at + 4)
    loop.receive(_poll(1, first, None, (_event(1, "drawn already"),)), BackendState())
    loop.publish()
    kept = ((1, (_event(1, "drawn already"),)), (2, (_event(2, "a stopped"),)),
            (4, (_event(3, "b stopped"), _event(4, "c stopped"))),
            (5, (_event(5, "d stopped"),)))
    loop.catch_up(EarlierEvents("lab", 0, kept))
    loop.receive(_poll(5, fifth, first, (_event(5, "d stopped"),)), BackendState())
    loop.publish()
    assert [e.message for e in drawn[-1].events] == [
        "a stopped", "b stopped", "c stopped", "d stopped"]
    # The next poll follows the one drawn: its own events, as they came.
    loop.receive(_poll(6, fifth, fifth, (_event(6, "e stopped"),)), BackendState())
    loop.publish()
    assert [e.message for e in drawn[-1].events] == ["e stopped"]


def test_events_the_hub_no_longer_keeps_are_said_to_be_missing(loop: RemoteLoop) -> None:
    drawn: list[PollResult] = []
    loop.subscribe(drawn.append)
    first = _inventory()
    loop.receive(_poll(1, first, None), BackendState())
    loop.publish()
    # Polls 2 and 3's events are gone from the hub: it keeps them from poll 4 on.
    loop.catch_up(EarlierEvents("lab", 4, ((4, (_event(9, "b stopped"),)),), kept=1))
    loop.receive(_poll(6, first, first), BackendState())
    loop.publish()
    events = drawn[-1].events
    assert [e.message for e in events][1:] == ["b stopped"]
    assert events[0].kind is EventKind.EVENTS_NOT_KEPT
    assert "the server keeps only its latest 1 events" in events[0].message


def test_a_console_started_at_login_shows_the_kept_events_first(loop: RemoteLoop) -> None:
    """`--warm-sessions 0`: a console's first poll is the hub's latest, whose own events
    do not include the power-off before it; the kept ones come first, each once."""
    drawn: list[PollResult] = []
    loop.subscribe(drawn.append)
    first = _inventory()
    kept = ((2, (_event(1, "pve2 powered off"), _event(2, "quorum"))),
            (3, (_event(3, "pve2 lost"),)), (7, (_event(4, "fenced"),)))
    loop.catch_up(EarlierEvents("lab", 0, kept))
    loop.receive(_poll(7, first, first, (_event(4, "fenced"),)), BackendState())
    loop.publish()
    assert [e.message for e in drawn[-1].events] == [
        "pve2 powered off", "quorum", "pve2 lost", "fenced"]
    loop.receive(_poll(8, first, first, (_event(5, "recovered"),)), BackendState())
    loop.publish()
    assert [e.message for e in drawn[-1].events] == ["recovered"]


def test_a_console_drawn_on_the_kept_events_shows_each_once(loop: RemoteLoop) -> None:
    """A console drawn in advance after the events (its first frames: the kept events,
    then poll 3), taken at poll 5: what it drew is not drawn again."""
    drawn: list[PollResult] = []
    loop.subscribe(drawn.append)
    first = _inventory()
    kept = ((2, (_event(1, "pve2 powered off"),)), (3, (_event(2, "pve2 lost"),)))
    loop.catch_up(EarlierEvents("lab", 0, kept))
    loop.receive(_poll(3, first, first, (_event(2, "pve2 lost"),)), BackendState())
    loop.publish()
    assert [e.message for e in drawn[-1].events] == ["pve2 powered off", "pve2 lost"]
    loop.catch_up(EarlierEvents("lab", 0, (*kept, (4, (_event(3, "fenced"),)))))
    loop.receive(_poll(5, first, first), BackendState())
    loop.publish()
    assert [e.message for e in drawn[-1].events] == ["fenced"]
    # Taken with no poll since the one drawn: the hub sends that poll again.
    loop.catch_up(EarlierEvents("lab", 0, (*kept, (4, (_event(3, "fenced"),)))))
    loop.receive(_poll(5, first, first, (_event(3, "fenced"),)), BackendState())
    loop.publish()
    assert drawn[-1].events == ()


def test_a_console_started_after_the_hub_let_events_go_says_so(loop: RemoteLoop) -> None:
    drawn: list[PollResult] = []
    loop.subscribe(drawn.append)
    loop.catch_up(EarlierEvents("lab", 4, ((4, (_event(9, "b stopped"),)),), kept=1))
    loop.receive(_poll(6, _inventory(), None), BackendState())
    loop.publish()
    events = drawn[-1].events
    assert [e.kind for e in events] == [EventKind.EVENTS_NOT_KEPT, EventKind.GUEST_STOPPED]


def test_the_hub_keeps_its_latest_events_for_a_session_that_attaches(tmp_path) -> None:
    """What a session gets as it attaches: the kept events (at most KEPT_EVENTS, whole
    polls, oldest let go first), then the latest poll."""
    from vmconsole.actor import Actor, Role
    from vmconsole.audit import AuditLog
    from vmconsole.monitor.poller import Poller, PollLoop
    from vmconsole.serve import wire
    from vmconsole.serve.hub import KEPT_EVENTS, PollHub

    class Link:
        actor = Actor("vera", Role.VIEWER)

        def __init__(self) -> None:
            self.sent: list[bytes] = []

        def send(self, data: bytes) -> None:
            self.sent.append(data)

    backend = SimBackend(SimCluster(), clock=ManualClock())
    hub = PollHub(PollLoop(Poller(backend)), AuditLog(tmp_path / "audit.jsonl"))
    try:
        half = KEPT_EVENTS // 2
        for poll in (1, 2, 3):  # 3 x half events: poll 1's are let go
            events = tuple(_event((poll - 1) * half + i, f"{poll}.{i}") for i in range(half))
            hub._arrived(wire.frame(wire.Kind.POLL, b"poll %d" % poll), poll, events)
        link = Link()
        hub.attach(link)
        kinds = [wire.parse_header(sent[:wire.HEADER.size])[1] for sent in link.sent]
        assert kinds == [wire.Kind.EVENTS, wire.Kind.POLL]
        assert link.sent[1].endswith(b"poll 3")
        earlier = wire.loads(link.sent[0][wire.HEADER.size:])
        assert (earlier.cluster, earlier.whole_from) == ("lab", 2)
        assert [seq for seq, _ in earlier.polls] == [2, 3]
        assert sum(len(events) for _, events in earlier.polls) == KEPT_EVENTS
    finally:
        backend.close()
