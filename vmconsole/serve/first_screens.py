"""The login queue: at most as many viewers' consoles draw their first screen at once as
the server has cores, the others waiting their turn, so that each first screen of a
class logging in at once comes fast rather than all of them at the end (sixty drawn
together on two cores all finish with the last). Operators and admins do not queue.

No console waits more than MAX_WAIT for its turn. On a machine busy with other work a
console's first screen takes longer than a turn (10-25 s at nice +5 on two cores kept
busy), so every turn ran out and the twentieth of a class waited 25-30 s before its
process even started, its screen blank, while the few consoles drawing got only their
few processes' share of the CPU (issue 13's CI failure: one of twenty blank after
60 s). Past MAX_WAIT a console draws without a turn: on a free machine the queue
still orders a class's first screens, and on a busy one it delays none by more.
"""

from __future__ import annotations

import asyncio
import os

# Seconds a console may hold its turn: one that never says it has drawn (a process
# stuck, or slow on a busy machine) lets the next one start after this.
TURN_TIMEOUT = 3.0
# Seconds a console waits for a turn at most, then draws without one.
MAX_WAIT = 3.0


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
        """Wait for a turn, in the order asked, MAX_WAIT seconds at most; `queue`
        False (an operator's console), or none free by then: at once, taking none."""
        if not queue:
            return Turn(None)
        try:
            # A slot acquired as the wait runs out is kept (wait_for returns it).
            await asyncio.wait_for(self._free.acquire(), MAX_WAIT)
        except TimeoutError:
            return Turn(None)
        return Turn(self._free)
