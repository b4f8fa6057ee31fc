"""One SSH session: a console of its own on the client's terminal, or a refusal.

Only a PTY with a shell request gets a console; exec, subsystems (SFTP) and a shell
without a PTY are refused. The console is a VMConsoleApp driven over the channel
(`ChannelDriver`), running on the server's event loop beside every other session's,
all of them fed by the server's shared poll loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncssh

from vmconsole.serve.driver import ChannelDriver
from vmconsole.serve.input import InputLimiter, clamp_size
from vmconsole.serve.limits import Limits
from vmconsole.session import Session
from vmconsole.ui.app import VMConsoleApp

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClientTerminal:
    """What the client said of its terminal: TERM, and the variables it sent (LANG,
    COLORTERM...; OpenSSH sends LANG and LC_* by default)."""

    term: str
    environment: Mapping[str, str]

    def env(self) -> dict[str, str]:
        return {**self.environment, "TERM": self.term}


AppFactory = Callable[[Session, ClientTerminal], VMConsoleApp]


class ConsoleSession(asyncssh.SSHServerSession[str]):
    """The server side of one SSH session channel."""

    def __init__(self, session: Session, make_app: AppFactory, limits: Limits,
                 admit: Callable[[ConsoleSession], str | None],
                 release: Callable[[ConsoleSession], None]) -> None:
        self.session = session
        self._make_app = make_app
        self._limits = limits
        self._admit = admit  # None: admitted; else the reason it is not
        self._release = release
        self._channel: asyncssh.SSHServerChannel[str] | None = None
        self._pty: tuple[str, int, int] | None = None  # TERM, width, height
        self._driver: ChannelDriver | None = None
        self.app: VMConsoleApp | None = None
        self.task: asyncio.Task[None] | None = None
        self._last_input = time.monotonic()
        self._idle_timer: asyncio.TimerHandle | None = None
        self._end_reason = ""
        self.ended = asyncio.Event()
        self._input = InputLimiter(limits)
        self._told_input = False
        self._notices: list[str] = []  # for the user, once the console runs

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
            self.notice(f"your terminal is {width}x{height}; this console is drawn at "
                        f"{size[0]}x{size[1]} at most")
        return size

    def shell_requested(self) -> bool:
        if self._pty is None:
            log.info("%s: refused a shell without a terminal", self.session.source)
            return False
        return True

    def exec_requested(self, command: str) -> bool:
        log.info("%s: refused exec", self.session.source)
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        log.info("%s: refused subsystem %s", self.session.source, subsystem)
        return False

    # --- the console --------------------------------------------------------------------

    def session_started(self) -> None:
        refusal = self._admit(self)
        if refusal is not None:
            self._say(f"vmconsole: {refusal}\r\n")
            self._close(1)
            return
        assert self._pty is not None and self._channel is not None
        client = ClientTerminal(self._pty[0], dict(self._channel.get_environment()))
        try:
            self.app = self._make_app(self.session, client)
        except Exception:
            log.exception("%s: the console could not be made", self.session.source)
            self._say("vmconsole: the console failed to start (see the server log)\r\n")
            self._close(1)
            return
        self.app.driver_class = ChannelDriver.bound_to(self)
        self.task = asyncio.get_running_loop().create_task(self._run(self.app))

    async def _run(self, app: VMConsoleApp) -> None:
        status = 0
        try:
            self._arm_idle_timer()
            log.info("%s: console for %s (%s)", self.session.source, self.session.user,
                     self.session.role)
            await app.run_async(size=self.size(), mouse=True)
            status = app.return_code or 0
        except Exception:
            log.exception("%s: the console failed", self.session.source)
            self._end_reason = self._end_reason or "the console failed (see the server log)"
            status = 1
        finally:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
            if self._end_reason:
                self._say(f"vmconsole: {self._end_reason}\r\n")
            self._close(status)
            log.info("%s: session of %s ended%s", self.session.source, self.session.user,
                     f" ({self._end_reason})" if self._end_reason else "")

    def end(self, reason: str) -> None:
        """End the console cleanly: the app exits (or, not running yet, never starts),
        then the channel closes."""
        self._end_reason = self._end_reason or reason
        if self.app is not None:
            self.app.exit()
        else:
            self._close(0)

    def _close(self, status: int) -> None:
        if self._channel is not None and not self.ended.is_set():
            with contextlib.suppress(OSError):  # the client is already gone
                self._channel.exit(status)
        if not self.ended.is_set():
            self.ended.set()
            self._release(self)

    # --- the terminal the driver writes to (driver.Terminal) -----------------------------

    def attach(self, driver: ChannelDriver) -> None:
        self._driver = driver
        for text in self._notices:
            driver.notice(text)
        self._notices.clear()

    def size(self) -> tuple[int, int]:
        assert self._pty is not None
        return self._pty[1], self._pty[2]

    def write(self, data: str) -> None:
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
                        self.session.source, self.session.user)
        if self._driver is not None and data:
            self._driver.feed(data)

    def notice(self, text: str) -> None:
        """Tell the user something about their session (shown once the console runs)."""
        if self._driver is not None:
            self._driver.notice(text)
        else:
            self._notices.append(text)

    def terminal_size_changed(self, width: int, height: int, pixwidth: int,
                              pixheight: int) -> None:
        if self._pty is None or not width or not height:
            return
        width, height = self._clamp(width, height)
        self._pty = (self._pty[0], width, height)
        if self._driver is not None:
            self._driver.resize(width, height)

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
