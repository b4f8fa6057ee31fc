"""Before a login: connections that never log in are bounded in number and time, and a
flood of them neither locks out a real login nor floods the log."""

from __future__ import annotations

import asyncio
import logging
import random
import time

import pytest

from tests.serve.conftest import Running
from vmconsole.serve.gate import StartupGate
from vmconsole.serve.limits import Limits, Startups

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def limits() -> Limits:
    return Limits(login_grace_time=2.0, per_source_startups=8,
                  max_startups=Startups(20, 30, 40))


async def _silent(host: str, port: int, source: str) -> tuple[asyncio.StreamReader,
                                                               asyncio.StreamWriter]:
    """A TCP connection that never says a word (nor its SSH version)."""
    return await asyncio.open_connection(host, port, local_addr=(source, 0))


async def _closed_by_server(reader: asyncio.StreamReader, timeout: float) -> bool:
    try:
        while await asyncio.wait_for(reader.read(4096), timeout):
            pass
    except TimeoutError:
        return False
    except ConnectionError:
        pass
    return True


async def test_a_flood_from_one_source_leaves_a_real_login_in(
        served: Running, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        flood = [await _silent(served.host, served.port, "127.0.0.2") for _ in range(300)]
        started = time.monotonic()
        async with await served.connect("operator"):
            took = time.monotonic() - started
        dropped = [await _closed_by_server(r, 2.0) for r, _ in flood[8:12]]
        kept = [await _closed_by_server(r, 0.1) for r, _ in flood[:8]]
    assert took < 2.0
    assert all(dropped) and not any(kept)
    drop_lines = [r for r in caplog.records if "dropped connections" in r.getMessage()]
    assert len(drop_lines) == 1  # not one line per dropped connection
    assert "127.0.0.2 has 8 connections waiting to log in already" in drop_lines[0].getMessage()
    for _, writer in flood:
        writer.close()


async def test_a_connection_that_never_logs_in_is_closed_after_the_grace_time(
        served: Running) -> None:
    reader, writer = await _silent(served.host, served.port, "127.0.0.3")
    started = time.monotonic()
    assert await _closed_by_server(reader, 10.0)
    assert 1.5 < time.monotonic() - started < 6.0
    writer.close()
    assert served.server.gate.waiting == 0


def test_random_early_drop_follows_max_startups() -> None:
    gate = StartupGate(Limits(max_startups=Startups(10, 30, 20), per_source_startups=0),
                       rng=random.Random(7))
    admitted = [gate.admit(f"192.0.2.{i}") is None for i in range(200)]
    assert all(admitted[:10])  # below start: never dropped
    assert gate.waiting == 20 and not any(admitted[-50:])  # at full: always
    assert 10 < admitted.index(False) + admitted[10:].count(True) <= 20
    for i, ok in enumerate(admitted):
        if ok:
            gate.done(f"192.0.2.{i}")
    assert gate.waiting == 0 and not gate.by_source
    assert Startups(10, 30, 100).drop_probability(55) == pytest.approx(0.65)
    assert Startups.parse("10:30:100") == Startups(10, 30, 100)
