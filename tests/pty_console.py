"""The console run as a user runs it: `vmconsole` on a pseudo-terminal, its output
drawn on a pyte screen."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pyte

ROOT = Path(__file__).resolve().parents[1]


Screen = Callable[[list[str]], bool]  # a condition on the terminal's rows


def run_in_terminal(env: dict[str, str], until: Screen, *args: str,
                    typed: Sequence[tuple[bytes, Screen]] = (), leave: bytes = b"q",
                    timeout: float = 60.0,
                    size: tuple[int, int] = (120, 40)) -> tuple[list[str], str, int]:
    """Start `vmconsole ARGS` on a pseudo-terminal, read its screen (its rows) until
    `until(rows)`; then for each (BYTES, CONDITION) of `typed`, write BYTES as the
    terminal would send them and read until CONDITION(rows); then send `leave` (q,
    or Esc and q from a text box) until the console ends. The screen before `leave`
    (each wait ends by `timeout`, or once the console has closed the terminal), all
    that was written, the exit code."""
    columns, rows = size
    screen = pyte.Screen(columns, rows)
    stream = pyte.ByteStream(screen)
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "vmconsole", *args], cwd=ROOT,
                            env=env | {"TERM": "xterm-256color", "COLUMNS": str(columns),
                                       "LINES": str(rows)},
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    seen = b""

    def drain(wait: float) -> bool:
        """Read what the console wrote within `wait` seconds (a full pty would block
        it); False once it has closed the terminal."""
        nonlocal seen
        if not select.select([master], [], [], wait)[0]:
            return True
        try:
            chunk = os.read(master, 65536)
        except OSError:
            return False
        seen += chunk
        stream.feed(chunk)
        return bool(chunk)

    try:
        terminal_open = True
        for keys, condition in [(b"", until), *typed]:
            if terminal_open and keys:
                os.write(master, keys)
            deadline = time.monotonic() + timeout
            while terminal_open and not condition(screen.display) and (
                    time.monotonic() < deadline):
                terminal_open = drain(0.2)
        shown = list(screen.display)
        deadline = time.monotonic() + timeout
        while terminal_open and proc.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError):  # the console may be closing its side
                os.write(master, leave)  # again if a busy machine lost it
            until_next = time.monotonic() + 5
            while terminal_open and proc.poll() is None and time.monotonic() < until_next:
                terminal_open = drain(0.2)
        return shown, seen.decode("utf-8", "replace"), proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
