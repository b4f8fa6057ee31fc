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

from vmconsole.ui.frozen import FrozenConsole

log = logging.getLogger(__name__)


async def _until_drawn(pilot: Pilot[object]) -> None:
    await pilot.pause()
    await pilot.press("j", "j", "t", "t")  # a guest's detail pane and charts, the task log
    await pilot.pause()
    pilot.app.exit()


def warm() -> None:
    """Run the console once, headless, 80x24; a failure only costs the warm-up."""
    console = FrozenConsole()
    console.poll()
    try:
        asyncio.run(console.app.run_async(headless=True, size=(80, 24),
                                          auto_pilot=_until_drawn))
    except Exception:
        log.exception("the fork server's warm-up failed; sessions start colder")
    finally:
        console.backend.close()
    gc.collect()
    gc.freeze()


warm()
