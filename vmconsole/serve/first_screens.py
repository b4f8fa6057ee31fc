"""The login queue: at most as many viewers' consoles draw their first screen at once as
the server has cores, the others waiting their turn, so that each first screen of a
class logging in at once comes fast rather than all of them at the end (sixty drawn
together on two cores all finish with the last). Operators and admins do not queue.
"""

from __future__ import annotations

import asyncio
import os

# Seconds a console may hold its turn: one that never says it has drawn (a process
# stuck, or slow on a busy machine) lets the next one start after this.
TURN_TIMEOUT = 3.0


class Turn:
    """One console's turn at its first screen; `end` (idempotent) lets the next start."""

    def __init__(self, slots: asyncio.Semaphore | None) -> None:
        self._slots = slots
        self._timer = (asyncio.get_running_loop().call_later(TURN_TIMEOUT, self.end)
                       if slots is not None else None)

    def end(self) -> None:
        if self._slots is not None:
            self._slots.release()
            self._slots = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class FirstScreens:
    """Hands out turns, `slots` at a time (default: the cores this process may use)."""

    def __init__(self, slots: int | None = None) -> None:
        self.slots = slots or len(os.sched_getaffinity(0))
        self._free = asyncio.Semaphore(self.slots)

    async def turn(self, queue: bool = True) -> Turn:
        """Wait for a turn, in the order asked; `queue` False (an operator's console):
        at once, taking none."""
        if not queue:
            return Turn(None)
        await self._free.acquire()
        return Turn(self._free)
