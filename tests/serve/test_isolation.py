"""A session that floods costs its own process: the others' keys, and new logins, go on."""

from __future__ import annotations

import os
import re
import time

import pytest

from tests.serve.conftest import Running
from tests.serve.terminal import Terminal, open_terminal
from tests.serve.test_roles import on_row
from vmconsole.serve.console import FLOOD_NICE
from vmconsole.serve.priority import VIEWER_NICE

pytestmark = pytest.mark.timeout(120)


async def round_trips(term: Terminal, count: int) -> list[float]:
    """Seconds from a cursor key to the detail pane naming the row it moved to."""
    times = []
    for i in range(count):
        key, name = ("k", "pve1") if i % 2 == 0 else ("j", "web1")
        started = time.monotonic()
        term.press(key)
        await term.wait_until(
            lambda t, n=name: re.search(rf"│ (Name|Node) +{n} ", t.row(2)) is not None,
            what=f"{name} after {key!r}", timeout=30)
        times.append(time.monotonic() - started)
    print("round trips (s):", " ".join(f"{t:.3f}" for t in times))
    return times


async def test_a_flooding_viewer_leaves_the_operator_and_new_logins_alone(
        served: Running) -> None:
    async with await served.connect("operator", username="sam") as op_conn, \
            await served.connect("viewer", username="flood") as flood_conn:
        operator = await open_terminal(op_conn, 120, 30)
        await on_row(operator, "web1", 2)
        quiet = await round_trips(operator, 6)
        flooder = await open_terminal(flood_conn, 120, 30)
        await flooder.wait_for("pve1")
        flooder.press("j" * (1 << 20))  # 1 MiB of keys
        flooder.press("\x1b[" + "1;" * 40_000)  # an 80 KB escape sequence
        flooded = await round_trips(operator, 10)
        started = time.monotonic()
        async with await served.connect("admin"):
            login = time.monotonic() - started
        # The flood is its own process's, and that process (a viewer's, which yields to
        # an operator's anyway) was made to yield more.
        consoles = {c.actor.user: c for c in served.server.sessions}
        flood_pid, op_pid = consoles["flood"].process.pid, consoles["sam"].process.pid
        assert flood_pid is not None and op_pid is not None
        assert flood_pid != op_pid != os.getpid()
        assert os.getpriority(os.PRIO_PROCESS, flood_pid) == \
            os.getpriority(os.PRIO_PROCESS, op_pid) + VIEWER_NICE + FLOOD_NICE
    assert max(flooded) < max(2.0, 4 * max(quiet)), (quiet, flooded)
    assert login < 5.0
