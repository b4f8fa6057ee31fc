"""A served console measuring a guest (the ping monitor, `w`) as the tester's class
did: its events panel narrates what the admin does meanwhile."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.serve.conftest import Running
from tests.serve.terminal import open_terminal
from vmconsole.backends.abilities import FaultKind

pytestmark = pytest.mark.timeout(120)


def _probes(text: str) -> int:
    """The probes the ping panel counts so far ("no outage in 152 probes")."""
    found = re.search(r"no outage in (\d+) probes", text)
    return int(found[1]) if found else 0


async def test_a_viewer_measuring_a_guest_gets_the_narration(served: Running) -> None:
    """The tester's report: alice pressed `w` on db1 before the teacher powered pve2
    off, and her events panel showed the status line only, for good (its log was
    mounted while the ping panel redrew, and never told its size)."""
    hub = served.server.hubs[0]
    async with await served.connect(username="alice") as conn:
        term = await open_terminal(conn, 80, 24)
        await term.wait_for("alice (viewer)", timeout=30)
        await term.wait_for("101 db1", timeout=10)
        term.press("g" + "j" * 9)
        await term.wait_until(lambda t: "Name        db1" in t.text, timeout=10,
                              what="db1 selected")
        term.press("w")
        await term.wait_for("ping db1 (sim)", timeout=10)
        # Measuring for a while (a probe every 10 ms, the panel redrawn with each).
        await term.wait_until(lambda t: _probes(t.text) >= 150, timeout=20,
                              what="150 probes")
        await asyncio.to_thread(hub.loop.backend.inject_fault, "pve2", FaultKind.POWER_OFF)
        await term.wait_for("pve2 powered off", timeout=15)
        await term.wait_for("pve2 lost:", timeout=30)
