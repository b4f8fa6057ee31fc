"""Consoles drawn before their viewers log in (serve/pool.py), and what a served
console asks of the server while it sits on a guest."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.serve.conftest import Running
from tests.serve.terminal import Terminal, open_terminal

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def warm_sessions() -> int:
    return 2


async def _until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_viewer_gets_a_waiting_console_as_their_own(served: Running) -> None:
    server = served.server
    pool = server._pool
    assert pool is not None
    await _until(lambda: pool.waiting == 2, 120)

    def waiting() -> set[int]:
        return {w.process.pid for w in pool._ready}

    def pid_of(user: str) -> int | None:
        return next((c.process.pid for c in server.sessions
                     if c.actor.user == user and c.process is not None), None)

    before = waiting()
    async with await served.connect(username="alice") as conn:
        # A terminal of another size than the waiting consoles' 80x24: redrawn at its own.
        term = await open_terminal(conn, 100, 30)
        await term.wait_for("alice (viewer)", timeout=30)
        assert pid_of("alice") in before  # taken, not started anew
        await term.wait_until(lambda t: "pve1" in t.text and t.row(29).rstrip().endswith(
            "palette") and len(t.row(29).rstrip()) > 80, what="the footer at 100 columns")
        term.press("jj")
        await _detail(term, "Name", "web1")
        # An operator is not given a viewer's console: a process of their own.
        before = waiting()
        async with await served.connect("operator", username="olga") as op_conn:
            op = await open_terminal(op_conn, 80, 24)
            await op.wait_for("olga (operator)", timeout=30)
            assert pid_of("olga") not in before
        # Nor is a terminal that wants plain ASCII (the waiting ones draw Unicode).
        before = waiting()
        async with await served.connect(username="lin") as lin_conn:
            lin = await open_terminal(lin_conn, 80, 24, env={"LANG": "C"})
            await lin.wait_for("lin (viewer)", timeout=30)
            await lin.wait_for("> 100 web1")
            assert "▶" not in lin.text
            assert pid_of("lin") not in before
    # Once logins pause, the pool is filled again.
    await _until(lambda: pool.waiting == 2, 120)


async def _detail(term: Terminal, field: str, value: str) -> None:
    """Until the detail pane's first row (below its title) is `field value`."""
    def shown(t: Terminal) -> bool:
        pane = t.row(2).rsplit("│", 1)[-1].split()  # right of the tree's edge
        return pane[:2] == [field, value]

    await term.wait_until(shown, timeout=30, what=f"{field} {value} atop the detail pane")


@pytest.fixture
def calls(served: Running) -> list[str]:
    """The methods every session asks the hub for, in order."""
    hub = served.server.hubs[0]
    seen: list[str] = []
    real = hub.call

    def counted(session: Any, method: str, args: Any, kwargs: Any) -> Any:
        seen.append(method)
        return real(session, method, args, kwargs)

    hub.call = counted  # type: ignore[method-assign]
    return seen


async def test_a_guests_history_is_asked_once_then_kept_from_the_polls(
        served: Running, calls: list[str]) -> None:
    hub = served.server.hubs[0]
    async with await served.connect("operator", username="olga") as conn:
        term = await open_terminal(conn, 100, 30)
        await term.wait_for("pve1", timeout=30)
        term.press("jj")  # pve1, then web1: two objects with history
        await _detail(term, "Name", "web1")
        first = hub.loop.latest.seq if hub.loop.latest else 0
        await _until(lambda: hub.loop.latest is not None and hub.loop.latest.seq >= first + 3)
        for _ in range(3):
            term.press("k")
            await _detail(term, "Node", "pve1")
            term.press("j")
            await _detail(term, "Name", "web1")
        await term.settle(0.5)
    # Three polls and six moves later: once per object, not once per poll or move.
    assert calls.count("samples") == 2
