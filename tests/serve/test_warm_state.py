"""A console drawn in advance (serve/pool.py) shows, when a viewer takes it, what a
console started then would: not the tree of the poll it was drawn on, with only the
latest poll's changes on top (serve/remote.py, RemoteLoop.receive), and in its events
panel the events of the polls it waited through. Every console, started at login or
drawn in advance before or after the events, shows the hub's kept events once, in
order."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.serve.conftest import Running
from tests.serve.terminal import Terminal, open_terminal
from vmconsole.backends.abilities import FaultKind
from vmconsole.model import GuestStatus, Inventory
from vmconsole.ui.labels import label_key

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def warm_sessions() -> int:
    return 1


def _status(inventory: Inventory | None, name: str) -> GuestStatus | None:
    guest = next((g for g in (inventory.guests if inventory else ()) if g.name == name), None)
    return guest.status if guest is not None else None


async def _until_waiting(served: Running) -> None:
    pool = served.server._pool
    assert pool is not None
    deadline = time.monotonic() + 60
    while pool.waiting < 1:
        assert time.monotonic() < deadline, "no console drawn in advance"
        await asyncio.sleep(0.05)


async def test_a_guest_started_while_a_console_waits_shows_running_in_its_tree(
        served: Running) -> None:
    hub = served.server.hubs[0]
    # As `vmconsole serve` builds its poll loops (ui/launch.py): a poll's diff relabels
    # only what a row draws, so a guest's figures changing do not relabel it each poll.
    hub.loop.poller.label_key = label_key
    pool = served.server._pool
    assert pool is not None
    await _until_waiting(served)
    inventory = hub.loop.poller.inventory
    assert inventory is not None and _status(inventory, "test1") is GuestStatus.STOPPED
    test1 = next(g for g in inventory.guests if g.name == "test1")
    await asyncio.to_thread(hub.loop.backend.start, test1.id)
    # Running and booted in the hub's polls, and then two polls more, so that the
    # latest poll's own changes and events (since the poll before it) no longer include
    # test1's start.
    booted = "103 (test1) booted on"
    carried: list[int] = []  # the polls that brought the event (the poll thread's)
    unsubscribe = hub.loop.subscribe(lambda result: carried.extend(
        result.seq for event in result.events if booted in event.message))
    deadline = time.monotonic() + 30
    while True:
        latest = hub.loop.latest
        assert latest is not None and time.monotonic() < deadline, "test1 never booted"
        if (carried and latest.seq >= carried[0] + 2
                and _status(latest.inventory, "test1") is GuestStatus.RUNNING):
            break
        await asyncio.sleep(0.05)
    unsubscribe()
    assert pool.waiting == 1  # drawn before test1 started, and still waiting

    async with await served.connect(username="vera") as conn:
        term = await open_terminal(conn, 100, 30)
        await term.wait_for("vera (viewer)", timeout=30)
        await term.wait_for("▶ 103 test1", timeout=10)
        assert "■ 103 test1" not in term.text
        await term.wait_for(booted, timeout=10)  # in the events panel


# A node powered off, as the tester's admin did (`f Enter` on pve2): its events.
POWER_OFF_EVENTS = ("pve2 powered off", "quorum: pve1, pve3 have 2 of 3", "pve2 lost:")


async def _shows_the_power_off_once_in_order(term: Terminal) -> None:
    def shown(term: Terminal) -> bool:
        return all(event in term.text for event in POWER_OFF_EVENTS)

    await term.wait_until(shown, timeout=15)
    await term.settle(1.0)  # two polls more: nothing comes twice
    text = term.text
    assert [text.count(event) for event in POWER_OFF_EVENTS] == [1, 1, 1], text
    assert [text.index(event) for event in POWER_OFF_EVENTS] == sorted(
        text.index(event) for event in POWER_OFF_EVENTS), text
    assert "earlier events not shown" not in text


async def test_every_console_shows_the_events_from_before_its_login_once(
        served: Running) -> None:
    """The tester's report: alice's second login (a console drawn after pve2 was
    powered off) lacked the power-off and the quorum, and a console started at login
    (`--warm-sessions 0`) showed no event at all."""
    hub = served.server.hubs[0]
    await _until_waiting(served)  # drawn before the fault
    carried: list[int] = []  # the polls that brought pve2's loss (the poll thread's)
    unsubscribe = hub.loop.subscribe(lambda result: carried.extend(
        result.seq for event in result.events if "pve2 lost:" in event.message))
    await asyncio.to_thread(hub.loop.backend.inject_fault, "pve2", FaultKind.POWER_OFF)
    deadline = time.monotonic() + 30
    while not carried or hub.loop.latest is None or hub.loop.latest.seq < carried[0] + 1:
        assert time.monotonic() < deadline, "pve2 never lost"
        await asyncio.sleep(0.05)
    unsubscribe()

    async with await served.connect(username="alice") as first:  # drawn before
        term = await open_terminal(first, 100, 30)
        await term.wait_for("alice (viewer)", timeout=30)
        await _shows_the_power_off_once_in_order(term)
        # An operator's console is started at login, as every one with --warm-sessions 0.
        async with await served.connect("operator", username="sam") as fresh:
            term = await open_terminal(fresh, 100, 30)
            await term.wait_for("sam (operator)", timeout=30)
            await _shows_the_power_off_once_in_order(term)
    await _until_waiting(served)  # drawn after the fault, refilled after the login
    async with await served.connect(username="bob") as later:
        term = await open_terminal(later, 100, 30)
        await term.wait_for("bob (viewer)", timeout=30)
        await _shows_the_power_off_once_in_order(term)
