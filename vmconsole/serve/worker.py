"""A session process: one console, on its own event loop, for one SSH session.

Forked from the server's pre-warmed fork server (Textual and the console imported
once), it gets two sockets: the terminal pipe (input, size, notes and polls in; the
screen out) and the call socket to the hubs (`calls.CallChannel`). Whatever the client
sends costs this process only; the server's loop and every other session go on.
"""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import os
import signal
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rich.color import ColorSystem
from textual import constants

from vmconsole.actor import Actor
from vmconsole.audit import AuditLog
from vmconsole.config import Config
from vmconsole.log_format import log_to_stderr
from vmconsole.serve import priority, wire
from vmconsole.serve.calls import CallChannel
from vmconsole.serve.driver import ChannelDriver
from vmconsole.serve.hub import ClusterInfo
from vmconsole.serve.remote import RemoteLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.symbols import detect_ascii

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Hello:
    """All a session process starts from (pickled to it by multiprocessing)."""

    actor: Actor
    term: str  # the client's TERM
    client_env: Mapping[str, str]  # what the client sent (LANG, LC_*...)
    size: tuple[int, int]  # columns, rows (clamped)
    clusters: tuple[ClusterInfo, ...]
    config: Config
    audit_path: Path
    environ: Mapping[str, str]  # the server's, now (the fork server's is older)
    theme: str | None = None
    max_output_buffer: int = 4 * 1024 * 1024
    notices: tuple[str, ...] = field(default=())
    read_only: bool = False  # the console changes nothing, whatever the role


@dataclass(frozen=True, slots=True)
class Attach:
    """The user of a console started before anyone logged in (pool.py), once one has:
    sent as wire.Kind.ATTACH."""

    actor: Actor
    size: tuple[int, int]  # columns, rows (clamped)
    notices: tuple[str, ...] = ()


def console_ascii(hello: Hello) -> bool:
    """Whether the console draws plain ASCII symbols: the profile's choice, else what
    the client's TERM and locale say it can draw."""
    if hello.config.ascii is not None:
        return hello.config.ascii
    return detect_ascii({**hello.client_env, "TERM": hello.term})


class PipeTerminal:
    """The driver's terminal (driver.Terminal) at the end of the terminal pipe. A
    console started before its user logged in (`attached` False) draws for no one:
    its output is dropped until `attach_client`."""

    def __init__(self, writer: asyncio.StreamWriter, size: tuple[int, int],
                 max_buffer: int, notices: tuple[str, ...], attached: bool = True,
                 viewer: bool = True) -> None:
        """`viewer`: a viewer's console, which goes idle (priority.idle_from_now) once
        its first screen is drawn."""
        self._writer = writer
        self._viewer = viewer
        self.first_drawn = False
        self._size = size
        self._max_buffer = max_buffer
        self.driver: ChannelDriver | None = None
        self._notices = list(notices)
        self.too_slow = False
        self.attached = attached

    def write(self, data: str) -> None:
        if self._writer.is_closing() or not self.attached:
            return
        if self._writer.transport.get_write_buffer_size() > self._max_buffer:
            self.too_slow = True  # the server stopped taking the screen: end
            self._writer.close()
            return
        self._writer.write(wire.frame(wire.Kind.OUTPUT, data.encode("utf-8", "replace")))

    def size(self) -> tuple[int, int]:
        return self._size

    def attach(self, driver: ChannelDriver) -> None:
        self.driver = driver
        for text in self._notices:
            driver.notice(text)
        self._notices.clear()

    def resize(self, width: int, height: int) -> None:
        self._size = (width, height)
        if self.driver is not None:
            self.driver.resize(width, height)

    def notice(self, text: str) -> None:
        if self.driver is not None:
            self.driver.notice(text)
        else:
            self._notices.append(text)

    def ready(self) -> None:
        """Tell the server that this waiting console has drawn (wire.Kind.READY)."""
        if not self._writer.is_closing():
            self._writer.write(wire.frame(wire.Kind.READY, b""))

    def first_screen(self) -> None:
        """The first screen for the client is drawn: tell the server (its login queue
        lets the next console draw, wire.Kind.FIRST_SCREEN), and a viewer's process
        yields the CPU to every other from now on."""
        if self.first_drawn:
            return
        self.first_drawn = True
        if not self._writer.is_closing():
            self._writer.write(wire.frame(wire.Kind.FIRST_SCREEN, b""))
        if self._viewer:
            priority.idle_from_now()

    def attach_client(self, size: tuple[int, int]) -> None:
        """From now on, draw for the client: its terminal is set up as at a console's
        start (alternate screen, mouse, keyboard modes) and sized."""
        self.attached = True
        self._size = size
        if self.driver is not None:
            self.driver.start_application_mode()


def make_app(hello: Hello, loops: list[RemoteLoop]) -> VMConsoleApp:
    """The session's console over its remote loops."""
    app = VMConsoleApp(loops, config=hello.config, actor=hello.actor, theme=hello.theme,
                       ascii=console_ascii(hello), audit=AuditLog(hello.audit_path),
                       read_only=hello.read_only)
    if constants.COLOR_SYSTEM == "auto":
        # Not the server's own terminal's colours (16 under a service manager): 256,
        # which every terminal a class uses shows.
        app.console._color_system = ColorSystem.EIGHT_BIT
    return app


def main(term_sock: socket.socket, call_sock: socket.socket, hello: Hello,
         waiting: bool = False) -> None:
    """The process's entry point (multiprocessing's target). `waiting`: started before
    its user logged in (pool.py): the console is drawn for no one, READY is sent once
    it has drawn the first poll, and ATTACH names the user and the terminal's size."""
    # Ctrl+C at the server's terminal reaches its whole process group: the server ends
    # the sessions itself, each with a word to its user.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not hello.actor.role.may_operate():
        priority.lower_for_first_screen()
    os.environ.clear()
    os.environ.update(hello.environ)
    # The server stamps every line of its sessions' descriptor 2, which is its own
    # (`terminal_lines`).
    log_to_stderr()
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 PID`: its threads' stacks, to the log
    calls = CallChannel(call_sock, answered=not waiting)
    loops = [RemoteLoop(info, calls) for info in hello.clusters]
    try:
        status = asyncio.run(_run(term_sock, hello, loops, calls, waiting))
    finally:
        calls.close()  # its reader ends now, not amid the interpreter's exit
    sys.exit(status)


async def _run(term_sock: socket.socket, hello: Hello, loops: list[RemoteLoop],
               calls: CallChannel, waiting: bool) -> int:
    reader, writer = await asyncio.open_unix_connection(sock=term_sock)
    terminal = PipeTerminal(writer, hello.size, hello.max_output_buffer, hello.notices,
                            attached=not waiting,
                            viewer=not hello.actor.role.may_operate())
    app = make_app(hello, loops)
    app.driver_class = ChannelDriver.bound_to(terminal)
    pipe = asyncio.create_task(_read_pipe(reader, app, terminal, calls,
                                          {loop.backend.name: loop for loop in loops}))
    try:
        await app.run_async(size=hello.size, mouse=True)
    except Exception:
        log.exception("%s: the console failed", hello.actor.source)
        return 1
    finally:
        pipe.cancel()
        if not writer.is_closing():
            await writer.drain()
            writer.close()
    return app.return_code or 0


async def _read_pipe(reader: asyncio.StreamReader, app: VMConsoleApp,
                     terminal: PipeTerminal, calls: CallChannel,
                     loops: dict[str, RemoteLoop]) -> None:
    """What the server sends, until it ends the session or the pipe closes."""
    try:
        while True:
            length, kind = wire.parse_header(await reader.readexactly(wire.HEADER.size))
            payload = await reader.readexactly(length)
            if kind is wire.Kind.INPUT:
                if terminal.driver is not None:
                    terminal.driver.feed(payload.decode("utf-8", "replace"))
            elif kind is wire.Kind.POLL:
                result, state = wire.loads(payload)
                loop = loops.get(result.cluster)
                if loop is not None and loop.receive(result, state):
                    # Published when the app comes to it: polls that arrive meanwhile
                    # (the console behind, or starved of CPU) are drawn as one.
                    app.call_later(_publish, app, loop, terminal)
            elif kind is wire.Kind.EVENTS:
                earlier = wire.loads(payload)
                if (loop := loops.get(earlier.cluster)) is not None:
                    loop.catch_up(earlier)
            elif kind is wire.Kind.ATTACH:
                calls.answered_from_now()  # the server serves them once it is taken
                _attach(app, terminal, wire.loads(payload))
            elif kind is wire.Kind.RESIZE:
                terminal.resize(*wire.loads(payload))
            elif kind is wire.Kind.NOTICE:
                terminal.notice(payload.decode("utf-8", "replace"))
            elif kind is wire.Kind.END:
                break
    except (asyncio.IncompleteReadError, ConnectionError, wire.FrameError):
        pass
    app.exit()


def _publish(app: VMConsoleApp, loop: RemoteLoop, terminal: PipeTerminal) -> None:
    """The latest poll to the console; once it is drawn, a waiting console is ready
    (wire.Kind.READY) and an attached one has its first screen."""
    loop.publish()
    if not terminal.attached:
        # After the app has taken the poll (its queue is in order) and drawn.
        app.call_later(app.call_after_refresh, terminal.ready)
    elif not terminal.first_drawn:
        app.call_later(app.call_after_refresh, terminal.first_screen)


def _attach(app: VMConsoleApp, terminal: PipeTerminal, attach: Attach) -> None:
    """Hand a waiting console to its user: their name and role, their terminal, the
    whole screen drawn on it."""
    app.actor = app.operations.actor = attach.actor
    app.show_actor()
    same_size = tuple(app.size) == attach.size
    terminal.attach_client(attach.size)
    if same_size:  # else the resize redraws it all
        app.screen.refresh()
    for text in attach.notices:
        terminal.notice(text)
    # After the resize (a message already queued) has laid the screen out and drawn.
    app.call_later(app.call_after_refresh, terminal.first_screen)
