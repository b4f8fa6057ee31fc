"""Consoles started before their users log in: a pool of session processes that have
composed and drawn a viewer's console on the latest poll, headless, and wait. A
viewer's login takes one (its first screen is then one repaint, not a console's start:
its styles parsed and applied, its widgets composed and laid out, about 0.3 s of CPU
each), and the pool is filled again once logins pause, so that a class logging in at
once does not share the cores with the refill.

Only viewers get one: operators and admins are few, and a waiting console is a
viewer's (its user is named when it is handed over, wire.Kind.ATTACH); so is a client
whose terminal wants plain ASCII symbols, since the waiting consoles draw Unicode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vmconsole.serve import wire
from vmconsole.serve.spawn import Spawner
from vmconsole.serve.worker import Attach, Hello

log = logging.getLogger(__name__)
QUIET = 2.0  # seconds without a login before the pool is filled again
READY_TIMEOUT = 60.0  # seconds for a waiting console to draw, on a busy machine
RETRY = 10.0  # seconds before trying again after a waiting console failed to start


@dataclass
class Waiting:
    """A started session process whose console has drawn for no one yet."""

    process: Any  # multiprocessing.Process
    pipe: socket.socket  # the server's end of its terminal pipe (blocking)
    calls: socket.socket  # the server's end of its call socket


class WarmPool:
    """Keeps `size` waiting consoles, started one at a time, and never more than the
    sessions the server may still admit."""

    def __init__(self, spawner: Spawner, size: int, hello: Callable[[], Hello],
                 polls: Callable[[], list[bytes]], room: Callable[[], int]) -> None:
        """`hello`: what a waiting console starts from (a viewer's, the server's
        settings); `polls`: each hub's first frames (its kept events and latest poll,
        hub.PollHub.first_frames), drawn before waiting;
        `room`: how many more sessions the server admits now."""
        self.size = size
        self._room = room
        self._spawner = spawner
        self._hello = hello
        self._polls = polls
        self._ready: deque[Waiting] = deque()
        self._last_take = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._told_full = False

    @property
    def waiting(self) -> int:
        """Consoles ready to be taken now."""
        return len(self._ready)

    def start(self) -> None:
        """Start filling; on the server's event loop."""
        self._task = asyncio.get_running_loop().create_task(self._fill())

    def take(self, session_hello: Hello) -> Waiting | None:
        """A waiting console handed to `session_hello`'s user (its ATTACH frame sent),
        or None when none is waiting; the caller then starts one itself."""
        self._last_take = time.monotonic()
        self._wake.set()
        while self._ready:
            waiting = self._ready.popleft()
            if not waiting.process.is_alive():  # ended while waiting (killed, say)
                _discard(waiting)
                continue
            attach = Attach(session_hello.actor, session_hello.size, session_hello.notices)
            try:
                # A few hundred bytes into a socket the process reads: never blocks.
                waiting.pipe.sendall(wire.frame(wire.Kind.ATTACH, wire.dumps(attach)))
            except OSError:  # it died while waiting
                _discard(waiting)
                continue
            return waiting
        return None

    async def _fill(self) -> None:
        while True:
            if len(self._ready) >= min(self.size, self._room()):
                if not self._told_full and self._ready:
                    self._told_full = True
                    log.info("%d consoles drawn and waiting for viewers", len(self._ready))
                self._wake.clear()
                with contextlib.suppress(TimeoutError):  # a session may have ended
                    await asyncio.wait_for(self._wake.wait(), QUIET)
                continue
            quiet = self._last_take + QUIET - time.monotonic()
            if quiet > 0 or not self._polls():  # a login just now, or no poll yet
                await asyncio.sleep(max(quiet, 0.5))
                continue
            try:
                self._ready.append(await self._start_one())
            except Exception:
                log.exception("a waiting console failed to start; trying again in %g s",
                              RETRY)
                await asyncio.sleep(RETRY)
            self._told_full = False

    async def _start_one(self) -> Waiting:
        hello = self._hello()
        process, pipe, calls = await self._spawner.spawn(hello, waiting=True)
        waiting = Waiting(process, pipe, calls)
        try:
            await asyncio.get_running_loop().run_in_executor(None, _until_drawn, waiting,
                                                             self._polls())
        except BaseException:
            _discard(waiting)
            raise
        return waiting

    async def close(self) -> None:
        """Stop filling and end every waiting console."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while self._ready:
            _discard(self._ready.popleft())


def _until_drawn(waiting: Waiting, polls: list[bytes]) -> None:
    """Send each hub's first frames (its kept events and latest poll), then wait for
    READY. Blocking (a thread); raises
    TimeoutError or ConnectionError when the console does not draw."""
    pipe = waiting.pipe
    for frame in polls:
        pipe.sendall(frame)
    pipe.settimeout(READY_TIMEOUT)
    try:
        while True:
            length, kind = wire.parse_header(_recv(pipe, wire.HEADER.size))
            _recv(pipe, length)
            if kind is wire.Kind.READY:
                return
    finally:
        pipe.settimeout(None)


def _recv(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(left)
        if not chunk:
            raise ConnectionError("the waiting console ended")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _discard(waiting: Waiting) -> None:
    waiting.pipe.close()
    waiting.calls.close()  # the process's loop sees its pipe close and exits
    with contextlib.suppress(Exception):
        waiting.process.kill()
        waiting.process.join(1.0)
