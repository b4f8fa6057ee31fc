"""Many consoles, one poller per cluster: twenty viewers cost the cluster what one does."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.serve.conftest import Running
from tests.serve.terminal import open_terminal

pytestmark = pytest.mark.timeout(120)

SESSIONS = 20


async def test_twenty_sessions_share_one_poller(served: Running) -> None:
    hub = served.server.hubs[0]
    loop = hub.loop
    connections = await asyncio.gather(*(served.connect(username=f"s{i}")
                                         for i in range(SESSIONS)))
    try:
        terms = await asyncio.gather(*(open_terminal(c, 80, 24) for c in connections))
        await asyncio.gather(*(t.wait_for("pve1", timeout=60) for t in terms))
        assert [loop] == served.server.loops
        assert loop.subscribers == 1  # the hub, for every session
        assert hub.sessions == SESSIONS
        assert len(served.server.sessions) == SESSIONS
        # The poll rate is the interval's, not multiplied by the viewers: count the polls
        # while three go by, over the time they really took on a machine however busy.
        first = loop.latest.seq if loop.latest else 0
        started = time.monotonic()
        await asyncio.wait_for(_until(
            lambda: loop.latest is not None and loop.latest.seq >= first + 3), 60)
        elapsed = time.monotonic() - started
        polls = loop.latest.seq - first if loop.latest else 0
        assert polls <= elapsed / loop.poller.interval + 1
        # Each console is its own: a key in one changes only that one.
        terms[0].press("?")
        await terms[0].wait_for("Id (for", timeout=60)
        await terms[1].settle(0.5)
        assert "Id (for" not in terms[1].text
        assert f"s{SESSIONS - 1} (viewer)" in terms[-1].row(0)
    finally:
        for conn in connections:
            conn.close()
    await asyncio.wait_for(_until(lambda: hub.sessions == 0), 20)
    # A session's process is reaped after its hub lets it go.
    await asyncio.wait_for(_until(lambda: not served.server.sessions), 20)


async def _until(condition) -> None:  # type: ignore[no-untyped-def]
    while not condition():
        await asyncio.sleep(0.05)
