"""A session's console process, as the server sees it: how long it has to end once
told to, and how the server learns that it ended without blocking a thread (its
sentinel, on the event loop)."""

from __future__ import annotations

import asyncio
from typing import Protocol

# Seconds a session process has to end by itself once told to (or once its pipe closed)
# before the server kills it. A console at the server's priority ends in a tenth of a
# second; a viewer's at SCHED_IDLE (priority.py) on a machine with no idle core took
# 25-45 s to read its END and run Textual's shutdown, and its SSH session stayed open
# all that time (issue 13's "1 consoles did not end within 10 s").
END_GRACE = 2.0


class Process(Protocol):
    """A started session process (multiprocessing.Process)."""

    pid: int | None
    sentinel: int  # readable once the process has ended
    exitcode: int | None

    def join(self, timeout: float | None = None) -> None: ...
    def is_alive(self) -> bool: ...
    def kill(self) -> None: ...


async def ended(process: Process, timeout: float) -> bool:
    """Whether `process` has ended, waiting `timeout` seconds at most for it."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not done.done():
            done.set_result(None)

    loop.add_reader(process.sentinel, readable)
    try:
        await asyncio.wait_for(done, timeout)
    except TimeoutError:
        pass
    finally:
        loop.remove_reader(process.sentinel)
    return not process.is_alive()


def join_once_ended(process: Process) -> None:
    """Collect `process`'s exit status (multiprocessing's record of it) once it has
    ended, without waiting for that."""
    loop = asyncio.get_running_loop()

    def collect() -> None:
        loop.remove_reader(process.sentinel)
        process.join(0)

    loop.add_reader(process.sentinel, collect)
