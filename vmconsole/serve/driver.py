"""A Textual driver whose terminal is an SSH client's, at the end of a pipe.

Textual's Linux driver owns the process's tty (termios, SIGWINCH, an input thread);
here the terminal is the client's: output goes to `Terminal.write` (framed down the
pipe to the server, which holds the SSH channel), input arrives through `feed` (what
the server passed on, already limited) and is turned into key and mouse events by
Textual's own xterm parser, and a window change becomes a Resize. It runs in the
session's own process (`worker`), on the loop that runs the app: no thread here.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Protocol, TextIO

from textual import constants, events
from textual.driver import Driver
from textual.geometry import Size
from textual.message import Message

from vmconsole.ui.paste_guard import PasteGuardParser

if TYPE_CHECKING:
    from textual.app import App

# Disambiguated escape codes, all keys reported, with their text: what Textual's Linux
# driver asks of terminals that speak the kitty keyboard protocol (others ignore it).
KITTY_KEY_FLAGS = 0b00001 | 0b01000 | 0b10000
# Messages the app may have waiting before input is dropped: a key costs the console
# about a millisecond, so this bounds a flood's backlog to a fraction of a second.
MAX_QUEUED = 256
MOUSE_MODES = (1000, 1003, 1015, 1006)  # click, any motion, urxvt and SGR coordinates
# What puts a terminal back after the console, its mouse reports off: bracketed paste
# off, line wrap on, the kitty keyboard protocol left (before the alternate screen),
# the main screen, the cursor shown, focus reports off.
_LEAVE = "\x1b[?2004l\x1b[?7h\x1b[<u\x1b[?1049l\x1b[?25h\x1b[?1004l"


def mouse_modes(on: bool) -> str:
    """The sequences that turn the console's mouse reports on or off."""
    flag = "h" if on else "l"
    return "".join(f"\x1b[?{mode}{flag}" for mode in MOUSE_MODES)


def leave_application_mode() -> str:
    """What a console sends its client's terminal at its end, for the server to send
    when the console could not (its process killed)."""
    return mouse_modes(False) + _LEAVE


class Terminal(Protocol):
    """The client's end, as the driver needs it (worker.PipeTerminal implements it)."""

    def write(self, data: str) -> None: ...

    def size(self) -> tuple[int, int]: ...

    def attach(self, driver: ChannelDriver) -> None: ...


class ChannelDriver(Driver):
    """Drives one app over one SSH channel; see `bound_to`."""

    terminal: Terminal

    @classmethod
    def bound_to(cls, terminal: Terminal) -> type[ChannelDriver]:
        """A driver class for one session: the app builds its driver from a class, so
        the class carries the session's terminal."""
        return type(cls.__name__, (cls,), {"terminal": terminal})

    def __init__(self, app: App[Any], *, debug: bool = False, mouse: bool = True,
                 size: tuple[int, int] | None = None) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=size or self.terminal.size())
        # ESC is taken out of bracketed pastes, as a local console does (paste_guard)
        self._parser = PasteGuardParser(debug=False)
        self._tick: asyncio.TimerHandle | None = None
        self._input_enabled = False
        self._told_behind = False
        self.terminal.attach(self)

    # --- output -----------------------------------------------------------------------

    def write(self, data: str) -> None:
        self.terminal.write(data)

    def start_application_mode(self) -> None:
        self._input_enabled = True
        self.resize(*self.terminal.size())
        self.write("\x1b[?1049h")  # alternate screen
        self._set_mouse(True)
        self.write("\x1b[?25l")  # hide the cursor
        self.write("\x1b[?1004h")  # focus in/out reports
        if not constants.DISABLE_KITTY_KEY:
            self.write(f"\x1b[>{KITTY_KEY_FLAGS}u")
        self.write("\x1b[?2026$p")  # does the terminal do synchronized output?
        self.write("\x1b[?2004h")  # bracketed paste
        self.write("\x1b[?7l")  # no line wrap

    def stop_application_mode(self) -> None:
        self.disable_input()
        self.write(_LEAVE)

    def disable_input(self) -> None:
        if self._input_enabled:
            self._input_enabled = False
            self._set_mouse(False)
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None

    def _set_mouse(self, on: bool) -> None:
        if self._mouse:
            self.write(mouse_modes(on))

    # --- input ------------------------------------------------------------------------

    def send_message(self, message: Message) -> None:
        # Called on the app's own loop, so no hop through run_coroutine_threadsafe.
        self._app.post_message(message)

    def feed(self, data: str) -> None:
        """Bytes the client typed (decoded), turned into Textual events. While the app
        is more than MAX_QUEUED messages behind, input is dropped (and the user told
        once): the console's input buffer is bounded, whatever arrives."""
        if not self._input_enabled:
            return
        if self._app.message_queue_size > MAX_QUEUED:
            if not self._told_behind:
                self._told_behind = True
                self.notice(f"the console is {MAX_QUEUED} events behind your input: "
                            "keys are dropped until it catches up")
            return
        for event in self._parser.feed(data):
            self.process_message(event)
        self._schedule_tick()

    def notice(self, text: str) -> None:
        """Tell the user something about their session (a limit reached), as a toast."""
        self._app.call_later(self._app.notify, text, title="vmconsole serve",
                             severity="warning", timeout=10, markup=False)

    def _schedule_tick(self) -> None:
        # A lone ESC is a key only once the parser's timeout passes with nothing after
        # it; the Linux driver polls for that, here a timer fires once.
        if self._tick is None and self._parser._timeout_time is not None:
            self._tick = self._loop.call_later(0.11, self._on_tick)

    def _on_tick(self) -> None:
        self._tick = None
        if not self._input_enabled:
            return
        for event in self._parser.tick():
            self.process_message(event)
        self._schedule_tick()

    # --- what a served console must not do on the server ----------------------------------

    def deliver_binary(self, binary: BinaryIO | TextIO, *, delivery_key: str,
                       save_path: Path, open_method: Literal["browser", "download"] = "download",
                       encoding: str | None = None, mime_type: str | None = None,
                       name: str | None = None) -> None:
        # Textual saves a delivery (a screenshot) on the machine the app runs on: here the
        # server, where a user has no business writing files. The served palette offers
        # no Screenshot (ui/app.py); this holds should anything else ask for one.
        binary.close()
        refusal = PermissionError("a console served over SSH saves no files on the server")
        self.send_message(events.DeliveryFailed(delivery_key, refusal, name))

    def open_url(self, url: str, new_tab: bool = True) -> None:
        """Nothing: Textual would start a browser on the server, not on the user's side."""

    def resize(self, width: int, height: int) -> None:
        """The client's window changed (or the session started)."""
        self._size = (width, height)
        size = Size(width, height)
        self.send_message(events.Resize(size, size))
