"""Operators' consoles win the CPU over viewers' (serve/priority.py), and a class
logging in at once draws its first screens a few at a time (serve/first_screens.py)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.serve.conftest import Keys, Running
from tests.serve.terminal import open_terminal
from vmconsole.monitor.poller import PollLoop
from vmconsole.serve import first_screens
from vmconsole.serve.console import Process
from vmconsole.serve.first_screens import FirstScreens
from vmconsole.serve.limits import Limits
from vmconsole.serve.priority import VIEWER_NICE, policy
from vmconsole.serve.server import ConsoleServer, ServeSettings
from vmconsole.serve.worker import Hello

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def warm_sessions() -> int:
    return 1


async def _until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def _nice(pid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, pid)


async def test_a_viewers_console_goes_idle_once_drawn_and_an_operators_never(
        served: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    # A turn that never times out: only the console's word ends it here.
    monkeypatch.setattr(first_screens, "TURN_TIMEOUT", 600.0)
    server = served.server
    pool = server._pool
    assert pool is not None
    await _until(lambda: pool.waiting == 1, "a waiting console", 120)
    waiting = pool._ready[0].process.pid
    # Drawn for no one yet: below the operators', not idle (it could not come back).
    assert policy(waiting) == os.SCHED_OTHER
    assert _nice(waiting) == _nice(os.getpid()) + VIEWER_NICE

    def pid_of(user: str) -> int | None:
        return next((c.process.pid for c in server.sessions
                     if c.actor.user == user and c.process is not None), None)

    async with await served.connect(username="alice") as conn, \
            await served.connect("operator", username="olga") as op_conn:
        alice = await open_terminal(conn, 80, 24)
        await alice.wait_for("alice (viewer)", timeout=60)
        assert pid_of("alice") == waiting  # the waiting console, handed over
        await _until(lambda: policy(waiting) == os.SCHED_IDLE, "alice's console idle")
        # Its turn in the login queue ended when it said so (no timeout here).
        await _until(lambda: server.first_screens._free._value == server.first_screens.slots,
                     "the login queue free again")
        olga = await open_terminal(op_conn, 80, 24)
        await olga.wait_for("olga (operator)", timeout=60)
        olga_pid = pid_of("olga")
        assert olga_pid is not None
        olga.press("j")  # drawn, polled, and a key: still the server's priority
        await olga.wait_for("pve1", timeout=30)
        assert policy(olga_pid) == os.SCHED_OTHER
        assert _nice(olga_pid) == _nice(os.getpid())
        # A viewer's console started at login (none waits now) goes idle too.
        async with await served.connect(username="lin") as lin_conn:
            lin = await open_terminal(lin_conn, 80, 24, env={"LANG": "C"})
            await lin.wait_for("lin (viewer)", timeout=60)
            lin_pid = pid_of("lin")
            assert lin_pid is not None and lin_pid != waiting
            await _until(lambda: policy(lin_pid) == os.SCHED_IDLE, "lin's console idle")
        assert policy(olga_pid) == os.SCHED_OTHER


async def test_first_screens_are_drawn_a_few_at_a_time_in_the_order_asked() -> None:
    queue = FirstScreens(2)
    first, second = await queue.turn(), await queue.turn()
    order: list[str] = []

    async def login(name: str) -> None:
        turn = await queue.turn()
        order.append(name)
        turn.end()

    third = asyncio.create_task(login("third"))
    fourth = asyncio.create_task(login("fourth"))
    await asyncio.sleep(0)
    operator = await queue.turn(queue=False)  # an operator does not wait
    assert order == [] and not third.done()
    first.end()
    first.end()  # once only: a second end frees no second place
    await asyncio.wait_for(third, 5)
    await asyncio.wait_for(fourth, 5)
    assert order == ["third", "fourth"]
    second.end()
    operator.end()
    assert queue._free._value == 2


async def test_a_turn_ends_by_itself_when_the_console_never_says(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(first_screens, "TURN_TIMEOUT", 0.2)
    queue = FirstScreens(1)
    await queue.turn()  # never ended: a stuck console
    await asyncio.wait_for(queue.turn(), 30)


async def test_no_console_waits_for_a_turn_longer_than_max_wait(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # On a busy machine every console's first screen outlasts its turn: the twentieth
    # of a class waited 25-30 s for its turn, blank (issue 13).
    monkeypatch.setattr(first_screens, "TURN_TIMEOUT", 600.0)
    monkeypatch.setattr(first_screens, "MAX_WAIT", 0.2)
    queue = FirstScreens(1)
    held = await queue.turn()  # a console drawing slowly
    late = await asyncio.wait_for(queue.turn(), 30)  # draws without a turn
    late.end()
    assert queue._free._value == 0  # ending it frees no slot it did not take
    held.end()
    assert queue._free._value == 1


async def test_a_client_that_leaves_while_in_the_login_queue_gets_no_console(
        keys: Keys, lab_loop: PollLoop, limits: Limits) -> None:
    server = ConsoleServer([lab_loop], ServeSettings(keys.host, keys.authorized,
                                                     limits=limits))
    host, port = await server.start("127.0.0.1", 0)
    try:
        server.first_screens = FirstScreens(1)
        held = await server.first_screens.turn()  # another console drawing
        spawned: list[str] = []
        real_spawn = server.spawn

        async def counted(hello: Hello) -> tuple[Process, Any, Any]:
            spawned.append(hello.actor.user)
            return await real_spawn(hello)

        server.spawn = counted  # type: ignore[method-assign]
        running = Running(server, host, port, keys)
        async with await running.connect(username="gone") as conn:
            await open_terminal(conn, 80, 24)
            await _until(lambda: len(server.sessions) == 1, "the session queued")
        held.end()
        await _until(lambda: not server.sessions, "the queued session ended")
        assert spawned == []
    finally:
        await server.stop(timeout=10.0)
