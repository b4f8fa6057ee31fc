"""An SSH client with a terminal emulator: what a user at the other end would see."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

import asyncssh
import pyte


def toast_text(display: list[str]) -> str:
    """The text of Textual's notifications on a screen's rows (each toast line behind a
    "▌"), joined with single spaces. A toast's line ends where the screen behind it
    shows again (a pane's border): box drawing and runs of spaces are not the message."""
    parts = [row.rpartition("▌")[2] for row in display if "▌" in row]
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", " ".join(parts)).split())

class Terminal:
    """One SSH session with a PTY, its output drawn on a pyte screen."""

    def __init__(self, process: asyncssh.SSHClientProcess[bytes], width: int,
                 height: int) -> None:
        self.process = process
        self.screen = pyte.Screen(width, height)
        self._stream = pyte.ByteStream(self.screen)
        self.received = b""

    @property
    def text(self) -> str:
        return "\n".join(self.screen.display)

    @property
    def notifications(self) -> str:
        """The text of the notifications on screen (Textual's toasts, at the bottom right,
        each line behind a "▌"), their lines joined."""
        return toast_text(self.screen.display)

    @property
    def closed(self) -> bool:
        return self.process.exit_status is not None or self.process.stdout.at_eof()

    async def _read_some(self, timeout: float) -> bool:
        try:
            data = await asyncio.wait_for(self.process.stdout.read(65536), timeout)
        except TimeoutError:
            return True
        if not data:
            return False
        self.received += data
        self._stream.feed(data)
        return True

    async def wait_until(self, condition: Callable[[Terminal], bool],
                         timeout: float = 10.0, what: str = "") -> None:
        """Read output until `condition(self)` holds; fail with the screen otherwise."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what or condition}:\n{self.text}")
            if not await self._read_some(min(left, 0.2)) and not condition(self):
                raise AssertionError(f"session closed waiting for {what}:\n{self.text}")

    async def settle(self, seconds: float) -> None:
        """Take in whatever arrives for a while (to show that something did not)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and await self._read_some(left):
            pass

    async def wait_for(self, text: str, timeout: float = 10.0) -> None:
        await self.wait_until(lambda t: text in t.text, timeout, repr(text))

    async def wait_closed(self, timeout: float = 10.0) -> None:
        async def drain() -> None:
            while await self._read_some(1.0):
                pass
            await self.process.wait_closed()

        await asyncio.wait_for(drain(), timeout)

    def press(self, keys: str) -> None:
        self.process.stdin.write(keys.encode())

    def resize(self, width: int, height: int) -> None:
        self.process.change_terminal_size(width, height)
        self.screen.resize(height, width)

    def row(self, index: int) -> str:
        return self.screen.display[index]


async def open_terminal(conn: asyncssh.SSHClientConnection, width: int = 100,
                        height: int = 30, term: str = "xterm-256color",
                        env: dict[str, str] | None = None,
                        screen: tuple[int, int] | None = None) -> Terminal:
    """A session asking for a `width` x `height` terminal, drawn on a pyte screen of that
    size or of `screen` (a client that claims more than it shows)."""
    process = await conn.create_process(term_type=term, term_size=(width, height),
                                        encoding=None, env=env or {})
    return Terminal(process, *(screen or (width, height)))
