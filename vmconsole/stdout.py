"""Lines printed to a reader that may leave: `vmconsole ha status | head` closes the pipe
after ten lines, and the next write fails with EPIPE (Python ignores SIGPIPE, so the
write raises BrokenPipeError instead of ending the process as it ends `yes | head`).

A command that only reports stops there, quietly, with the status a shell gives a tool
that SIGPIPE ended. Work that must finish whoever reads its output (a lab being built, an
HA manager fencing a node) goes on with its lines dropped: the audit log and the status
file still have them."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import TextIO

#: A shell's status for a tool ended by SIGPIPE (128 + 13), so a `set -o pipefail`
#: script sees of `vmconsole audit | head` what it sees of `yes | head`.
EXIT_PIPE_CLOSED = 128 + signal.SIGPIPE


def send_to_devnull(stream: TextIO | None = None) -> None:
    """Point `stream`'s file descriptor (default sys.stdout, 1) at /dev/null: later
    writes, and Python's own flush at exit, then succeed instead of raising (or printing
    "Exception ignored") again."""
    try:
        fd = (stream or sys.stdout).fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test's capture): nothing to point elsewhere
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def print_line(text: str) -> None:
    """Print `text` (already made visible: this adds no escaping) and flush it.

    Raises BrokenPipeError if the reader has closed the pipe, after `send_to_devnull()`;
    `cli.main` turns it into exit status EXIT_PIPE_CLOSED."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        send_to_devnull()
        raise


def print_line_or_drop(text: str) -> None:
    """Print `text` (already made visible) for work that must go on when nobody reads
    it: once the reader has closed the pipe, this line and every later one are
    dropped, and nothing is raised."""
    with contextlib.suppress(BrokenPipeError):
        print_line(text)
