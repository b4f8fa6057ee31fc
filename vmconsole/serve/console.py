"""One SSH session, on the server's side: the requests it may make, the limits on what
its client sends, and the bridge to its console, which runs in a process of its own
(`worker`), attached to the clusters' poll hubs.

Only a PTY with a shell request gets a console; exec, subsystems (SFTP) and a shell
without a PTY are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import asyncssh

from vmconsole.actor import Actor
from vmconsole.serve import priority, wire
from vmconsole.serve.driver import leave_application_mode
from vmconsole.serve.first_screens import Turn
from vmconsole.serve.hub import PollHub, reply
from vmconsole.serve.input import InputLimiter, clamp_size
from vmconsole.serve.limits import Limits
from vmconsole.serve.session_process import END_GRACE, Process, ended, join_once_ended
from vmconsole.serve.worker import Hello
from vmconsole.text import visible, visible_lines

log = logging.getLogger(__name__)
FLOOD_NICE = 10  # added to the nice value of a session process past an input limit


class Host(Protocol):
    """What a session needs of its server."""

    @property
    def limits(self) -> Limits: ...
    @property
    def hubs(self) -> Sequence[PollHub]: ...

    def admit(self, console: ConsoleSession) -> str | None: ...
    def release(self, console: ConsoleSession) -> None: ...
    def hello(self, actor: Actor, term: str, client_env: Mapping[str, str],
              size: tuple[int, int], notices: tuple[str, ...]) -> Hello: ...
    async def first_screen_turn(self, actor: Actor) -> Turn: ...
    async def spawn(self, hello: Hello) -> tuple[Process, Any, Any]: ...
    async def run_call(self, call: Callable[[], bytes]) -> bytes: ...


class ConsoleSession(asyncssh.SSHServerSession[str]):
    """The server side of one SSH session channel."""

    def __init__(self, actor: Actor, host: Host) -> None:
        self.actor = actor
        self._host = host
        self._limits = host.limits
        self._channel: asyncssh.SSHServerChannel[str] | None = None
        self._pty: tuple[str, int, int] | None = None  # TERM, width, height (clamped)
        self._pipe: asyncio.StreamWriter | None = None  # to the session process
        self._calls: asyncio.StreamWriter | None = None
        self._early: list[bytes] = []  # frames sent before the process was there
        self.process: Process | None = None
        self._turn = Turn(None)  # in the login queue (first_screens.py) from _run on
        self.task: asyncio.Task[None] | None = None
        self._last_input = time.monotonic()
        self._idle_timer: asyncio.TimerHandle | None = None
        self._end_reason = ""
        self._ending = False
        self._end_timer: asyncio.TimerHandle | None = None
        self._killed = False  # ended by the server, its terminal modes still set
        self.ended = asyncio.Event()
        self._input = InputLimiter(self._limits)
        self._told_input = False
        self._notices: list[str] = []  # said before the process was asked for
        self._deprioritized = False  # past a limit: its process yields (FLOOD_NICE)
        self._reniced = False

    # --- requests -----------------------------------------------------------------------

    def connection_made(self, chan: asyncssh.SSHServerChannel[str]) -> None:
        self._channel = chan

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int],
                      term_modes: Mapping[int, int]) -> bool:
        width, height = self._clamp(term_size[0] or 80, term_size[1] or 24)
        self._pty = (term_type[:64] or "xterm", width, height)
        return True

    def _clamp(self, width: int, height: int) -> tuple[int, int]:
        size = clamp_size(width, height, self._limits)
        if size != (width, height):
            self._lower_priority()
            self.notice(f"your terminal is {width}x{height}; this console is drawn at "
                        f"{size[0]}x{size[1]} at most")
        return size

    def shell_requested(self) -> bool:
        if self._pty is None:
            log.info("%s: refused a shell without a terminal", self.actor.source)
            return False
        return True

    def exec_requested(self, command: str) -> bool:
        log.info("%s: refused exec", self.actor.source)
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        log.info("%s: refused subsystem %s", self.actor.source, visible(subsystem, 64))
        return False

    # --- the console --------------------------------------------------------------------

    def session_started(self) -> None:
        refusal = self._host.admit(self)
        if refusal is not None:
            self._say(f"vmconsole: {visible_lines(refusal)}\r\n")
            self._close(1)
            return
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        assert self._pty is not None and self._channel is not None
        term, width, height = self._pty
        hello = self._host.hello(self.actor, term, dict(self._channel.get_environment()),
                                 (width, height), tuple(self._notices))
        status = 0
        # Held until the console says its first screen is drawn (_show), or it ends.
        self._turn = await self._host.first_screen_turn(self.actor)
        if self._ending:  # the client left while in the queue: no console for no one
            self._turn.end()
            self._finish(0)
            return
        try:
            self.process, pipe, calls = await self._host.spawn(hello)
            reader, self._pipe = await asyncio.open_unix_connection(sock=pipe)
            call_reader, self._calls = await asyncio.open_unix_connection(sock=calls)
        except Exception:
            log.exception("%s: the console could not be started", self.actor.source)
            self._turn.end()
            self._end_reason = "the console failed to start (see the server log)"
            self._finish(1)
            return
        if self._deprioritized:
            self._lower_priority()
        for frame in self._early:
            self._pipe.write(frame)
        self._early.clear()
        if self._ending:
            self._tell_end()
        for hub in self._host.hubs:
            hub.attach(self)
        self._last_input = time.monotonic()  # idle from when the console is there
        self._arm_idle_timer()
        log.info("%s: console for %s (%s), process %s", self.actor.source,
                 visible(self.actor.user), self.actor.role, self.process.pid)
        serving = asyncio.get_running_loop().create_task(self._serve_calls(call_reader))
        try:
            await self._show(reader)
        finally:
            self._turn.end()
            for hub in self._host.hubs:
                hub.detach(self)
            serving.cancel()
            for writer in (self._pipe, self._calls):
                writer.close()
            status = await self._reap()
            self._finish(status)

    async def _show(self, reader: asyncio.StreamReader) -> None:
        """The process's screen to the client, until the process ends."""
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError,
                                 wire.FrameError):
            while True:
                length, kind = wire.parse_header(await reader.readexactly(wire.HEADER.size))
                payload = await reader.readexactly(length)
                if kind is wire.Kind.OUTPUT:
                    self._write(payload.decode("utf-8", "replace"))
                elif kind is wire.Kind.FIRST_SCREEN:
                    self._turn.end()  # the next console in the login queue draws

    async def _serve_calls(self, reader: asyncio.StreamReader) -> None:
        """The process's calls to the hubs, each in a worker thread."""
        hubs = {hub.name: hub for hub in self._host.hubs}
        try:
            while True:
                length, kind = wire.parse_header(await reader.readexactly(wire.HEADER.size))
                payload = await reader.readexactly(length)
                if kind is not wire.Kind.CALL:
                    continue
                call_id, cluster, method, args, kwargs = wire.load_call(payload)
                hub = hubs.get(cluster)
                if hub is None:
                    raise ValueError(f"no cluster {cluster!r}")
                asyncio.get_running_loop().create_task(
                    self._answer(call_id, hub, method, args, kwargs))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except (ValueError, pickle.UnpicklingError) as exc:
            log.error("%s: the session process sent a bad call (%s): ending it",
                      self.actor.source, exc)
            self.end("the console failed (see the server log)")

    async def _answer(self, call_id: int, hub: PollHub, method: str,
                      args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        data = await self._host.run_call(
            lambda: reply(call_id, lambda: hub.call(self.actor, method, args, kwargs)))
        if call_id and self._calls is not None and not self._calls.is_closing():
            self._calls.write(data)

    def _lower_priority(self) -> None:
        """A session past a limit (a flood, a giant terminal) yields the CPU to the
        others: its process's nice value goes up by FLOOD_NICE, once. On a 2-core
        machine the processes alone do not keep an operator's keys fast while a flood
        is drawn."""
        self._deprioritized = True
        process = self.process
        if process is not None and process.pid is not None and not self._reniced:
            self._reniced = True
            with contextlib.suppress(OSError):  # the process has just ended
                os.setpriority(os.PRIO_PROCESS, process.pid,
                               os.getpriority(os.PRIO_PROCESS, process.pid) + FLOOD_NICE)

    async def _reap(self) -> int:
        """Wait for the process to end, END_GRACE s at most before killing it; its
        exit status (1 when killed). Waits on the process's sentinel, not in a thread:
        twenty sessions ending at once held every thread of the loop's default pool,
        which starts the processes of new logins too."""
        process = self.process
        if process is None:
            return 1
        if not self._killed and not await ended(process, END_GRACE):
            self._kill("its pipe closed")
        if self._killed:
            # It runs no more code of its own; the kernel may still take seconds to
            # free it at SCHED_IDLE, which the session does not wait for.
            join_once_ended(process)
            return 1
        code = process.exitcode
        return code if isinstance(code, int) and code >= 0 else 1

    def _kill(self, since: str) -> None:
        """Kill the process, which has not ended END_GRACE s after `since`, and let
        the session end without waiting for the pipe to close."""
        process = self.process
        if process is None or self._killed or not process.is_alive():
            return
        log.warning("%s: session process %s had not ended %g s after %s: killed",
                    self.actor.source, process.pid, END_GRACE, since)
        self._killed = True
        if process.pid is not None:
            priority.lift_for_exit(process.pid)
        process.kill()
        if self._pipe is not None:
            self._pipe.close()  # _show ends

    def _tell_end(self) -> None:
        """END down the pipe; the process has END_GRACE s to end by itself (its
        console restores the client's terminal), else it is killed: a viewer's
        process at SCHED_IDLE may not get the CPU to read END for tens of seconds."""
        assert self._pipe is not None
        self._pipe.write(wire.frame(wire.Kind.END, b""))
        self._end_timer = asyncio.get_running_loop().call_later(
            END_GRACE, self._kill, "it was told to end")

    def end(self, reason: str) -> None:
        """End the console cleanly: its process exits (or, not started yet, never
        runs), then the channel closes with `reason` said to the user."""
        self._end_reason = self._end_reason or reason
        if self._ending:
            return
        self._ending = True
        if self._pipe is not None and not self._pipe.is_closing():
            self._tell_end()
        elif self.task is None:
            self._finish(0)

    def _finish(self, status: int) -> None:
        for timer in (self._idle_timer, self._end_timer):
            if timer is not None:
                timer.cancel()
        if self._killed:  # the console did not leave the client's terminal as it found it
            self._say(leave_application_mode())
        if self._end_reason:
            self._say(f"vmconsole: {visible_lines(self._end_reason)}\r\n")
        self._close(status)
        if self.process is not None:
            log.info("%s: session of %s ended%s", self.actor.source,
                     visible(self.actor.user),
                     f" ({visible(self._end_reason)})" if self._end_reason else "")

    def _close(self, status: int) -> None:
        if self._channel is not None and not self.ended.is_set():
            with contextlib.suppress(OSError):  # the client is already gone
                self._channel.exit(status)
        if not self.ended.is_set():
            self.ended.set()
            self._host.release(self)

    # --- to the client and to the process -------------------------------------------------

    def _write(self, data: str) -> None:
        chan = self._channel
        if chan is None or chan.is_closing():
            return
        if chan.get_write_buffer_size() > self._limits.max_output_buffer:
            # A client that reads nothing would make the server hold every frame.
            self.end("the client stopped reading")
            return
        chan.write(data)

    def _say(self, text: str) -> None:
        chan = self._channel
        if chan is not None and not chan.is_closing():
            chan.write(text)

    def send(self, data: bytes) -> None:
        """A frame for the session process (the hubs' polls too)."""
        pipe = self._pipe
        if pipe is None:
            self._early.append(data)
        elif not pipe.is_closing():
            if pipe.transport.get_write_buffer_size() > 4 * self._limits.max_output_buffer:
                # The process takes nothing (stuck): it would make the server hold
                # every poll for it.
                self.end("the console stopped responding")
                pipe.close()
                return
            pipe.write(data)

    def notice(self, text: str) -> None:
        """Tell the user something about their session (a limit reached)."""
        if self.task is None:
            self._notices.append(text)
        else:
            self.send(wire.frame(wire.Kind.NOTICE, text.encode()))

    # --- what the client sends ----------------------------------------------------------

    def data_received(self, data: str, datatype: asyncssh.DataType) -> None:
        self._last_input = time.monotonic()
        dropped = self._input.dropped
        data = self._input.feed(data)
        if self._input.dropped > dropped and not self._told_input:
            self._told_input = True
            limits = self._limits
            self.notice(f"input beyond {limits.input_rate // 1024} KiB/s (bursts of "
                        f"{limits.input_burst // 1024} KiB) or escape sequences over "
                        f"{limits.max_escape} bytes are dropped")
            log.warning("%s: input of %s over the limit: dropping the excess",
                        self.actor.source, visible(self.actor.user))
            self._lower_priority()
        if data and self.task is not None:
            self.send(wire.frame(wire.Kind.INPUT, data.encode()))

    def terminal_size_changed(self, width: int, height: int, pixwidth: int,
                              pixheight: int) -> None:
        if self._pty is None or not width or not height:
            return
        width, height = self._clamp(width, height)
        self._pty = (self._pty[0], width, height)
        if self.task is not None:
            self.send(wire.frame(wire.Kind.RESIZE, wire.dumps((width, height))))

    def eof_received(self) -> bool:
        self.end("")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._channel = None
        self.end("")

    # --- idle timeout -------------------------------------------------------------------

    def _arm_idle_timer(self, *_: Any) -> None:
        idle = self._limits.idle_timeout
        if not idle:
            return
        remaining = self._last_input + idle - time.monotonic()
        if remaining <= 0:
            self.end(f"no input for {idle:g} s: session ended")
            return
        self._idle_timer = asyncio.get_running_loop().call_later(remaining,
                                                                 self._arm_idle_timer)
