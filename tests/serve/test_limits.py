"""The server's limits: how many consoles, and how long one may sit idle."""

from __future__ import annotations

import asyncio

import pytest

from tests.serve.conftest import Running
from tests.serve.terminal import open_terminal
from vmconsole.serve.limits import Limits

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def limits() -> Limits:
    return Limits(max_sessions=2, idle_timeout=3.0)


async def test_max_sessions_refuses_the_next_with_a_message(served: Running) -> None:
    async with await served.connect() as conn:
        terms = [await open_terminal(conn) for _ in range(2)]
        for term in terms:
            await term.wait_for("pve1")
            term.press("j")  # input keeps them from going idle meanwhile
        extra = await open_terminal(conn)
        await extra.wait_closed()
        assert b"the server is full (2 sessions)" in extra.received
        assert extra.process.exit_status == 1
        assert len(served.server.sessions) == 2


async def test_idle_session_ends_cleanly(served: Running) -> None:
    hub = served.server.hubs[0]
    loop = hub.loop
    async with await served.connect() as conn:
        term = await open_terminal(conn)
        await term.wait_for("pve1")
        started = asyncio.get_running_loop().time()
        for _ in range(4):  # input keeps it open past the timeout
            await asyncio.sleep(0.6)
            term.press("j")
        assert not term.closed
        await term.wait_closed(timeout=10)
        idle_for = asyncio.get_running_loop().time() - started
        assert idle_for >= 2.4 + 3.0 - 0.2
        assert b"no input for 3 s: session ended" in term.received
        assert term.received.rstrip().endswith(b"session ended")
        assert b"\x1b[?1049l" in term.received  # the client's screen is given back
        assert term.process.exit_status == 0
    assert hub.sessions == 0
    seq = loop.latest.seq if loop.latest else 0
    # the poller goes on (a TimeoutError here: it stopped with the session)
    await asyncio.wait_for(_until(lambda: loop.latest is not None and loop.latest.seq > seq), 10)


@pytest.mark.parametrize("limits", [Limits(max_output_buffer=16 * 1024)])
async def test_a_client_that_reads_nothing_is_let_go(served: Running) -> None:
    hub = served.server.hubs[0]
    async with await served.connect() as conn:
        # A tiny SSH window, never read: the server's unsent output grows.
        await conn.create_process(term_type="xterm", term_size=(200, 60), window=1024)
        await asyncio.wait_for(_until(lambda: hub.sessions == 1), 10)
        await asyncio.wait_for(_until(lambda: not served.server.sessions), 20)
        assert hub.sessions == 0


async def _until(condition) -> None:  # type: ignore[no-untyped-def]
    while not condition():
        await asyncio.sleep(0.05)
