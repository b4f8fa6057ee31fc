"""Imported by the fork server only (spawn.PRELOAD): draws one console, headless, on a
simulated lab before any session is forked, so that what Textual, Rich and the console
load or build on first use (lazy imports, parsed default CSS, compiled patterns,
themes) is done once and shared by every session process, not done again in each
(that cost each session about 0.6 s of CPU to its first screen). Then `gc.freeze()`
keeps the collector off those objects, so the session processes share their pages
instead of copying them."""

from __future__ import annotations

import asyncio
import gc
import logging

from textual.pilot import Pilot

from vmconsole.backends.sim.backend import SimBackend
from vmconsole.backends.sim.clock import ManualClock
from vmconsole.config import SimCluster
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.messages import ClusterPolled

log = logging.getLogger(__name__)


async def _until_drawn(pilot: Pilot[object]) -> None:
    await pilot.pause()
    await pilot.press("j", "j", "t", "t")  # a guest's detail pane and charts, the task log
    await pilot.pause()
    pilot.app.exit()


def warm() -> None:
    """Run the console once, headless, 80x24, on one poll of the demo cluster (no poll
    thread: the fork server must fork with no other thread); a failure only costs the
    warm-up. The demo's clock stands still, as in the tests' frozen console: with a
    running one, the first notification of a served console was not shown
    (tests/serve/test_input_limits.py; the cause was not found)."""
    loop = PollLoop(Poller(SimBackend(SimCluster(), clock=ManualClock()), interval=1.0))
    app = VMConsoleApp([loop])
    loop.latest = loop.poller.poll()
    app.post_message(ClusterPolled(loop.latest))
    try:
        asyncio.run(app.run_async(headless=True, size=(80, 24), auto_pilot=_until_drawn))
    except Exception:
        log.exception("the fork server's warm-up failed; sessions start colder")
    finally:
        loop.backend.close()
    gc.collect()
    gc.freeze()


warm()
