"""File descriptor 2 as a pipe, read a line at a time, so that nothing written there
reaches the terminal raw.

Descriptor 2 is where a C library or a child process reports: libxml2 under libvirt's
test driver ("I/O warning : failed to load external entity" and the URI's file name,
escapes and all, at every reconnection), the `ssh` that a `qemu+ssh://` URI starts
("Host key verification failed."), a Python thread's last traceback. Written raw, such
a line's escape sequences are obeyed by the terminal: a file name in a config could
retitle the terminal or clear it. Within `stderr_through`, a thread reads what is
written there and hands each line to a sink, which makes it visible
(`vmconsole.text.visible`) where it puts it: the console's log (`ui/stderr_guard.py`),
or the terminal of `vmconsole serve` and `vmconsole ha run` (`terminal_lines`), whose
own messages, already plain text, pass unchanged but for the time stamped on them.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
from collections.abc import Callable, Iterator

from vmconsole.terminal_lines import TerminalLines

#: The most of one line that a sink is handed, in characters (after `visible`, what it
#: writes): a library that writes without newlines still ends a line here.
LINE_LIMIT = 2000
_READ_BYTES = 65536
#: A read end that a child process still holds open (an `ssh` started by libvirt has
#: descriptor 2 as its stderr) gives no end of file when the block ends; its thread is
#: then left to the process's exit after this many seconds.
_DRAIN_S = 1.0

#: Takes the lines read, as text (undecodable bytes as `\\xNN`), not yet made visible.
Sink = Callable[[list[str]], None]


@contextlib.contextmanager
def stderr_through(sink: Sink | None = None) -> Iterator[io.TextIOWrapper]:
    """Within the block, what anything in the process writes to descriptor 2 is handed
    to `sink` a line at a time (from a thread of its own; a sink that raises loses those
    lines, never the next); no sink: each line is written to the terminal, made visible
    and stamped, a line repeated within a minute counted instead (`TerminalLines`): the
    only writer there while the block lasts, so lines from threads and child processes
    never interleave within a line.

    Yields the terminal that descriptor 2 was, as a text stream for what must reach it
    (Textual's driver, a command's own messages); on leaving, descriptor 2 is the
    terminal again. Raises OSError if the descriptors cannot be made; nothing is
    changed then."""
    sys.stderr.flush()
    terminal_fd = os.dup(2)
    try:
        read_fd, write_fd = os.pipe()
    except OSError:
        os.close(terminal_fd)
        raise
    encoding = getattr(sys.__stderr__, "encoding", None) or "utf-8"
    terminal = open(terminal_fd, "w", encoding=encoding,  # noqa: SIM115 (closed below)
                    errors="backslashreplace")
    os.dup2(write_fd, 2)
    os.close(write_fd)
    lines = TerminalLines(terminal, LINE_LIMIT) if sink is None else None
    pump = threading.Thread(target=_read_lines, args=(read_fd, sink or lines,
                                                      lines.end if lines else None),
                            name="stderr-pipe", daemon=True)
    pump.start()
    try:
        yield terminal
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        with contextlib.suppress(OSError, ValueError):
            terminal.flush()
        os.dup2(terminal_fd, 2)  # the pipe's last write end closes: the pump reads its end
        pump.join(_DRAIN_S)  # before the terminal closes: the last lines may be for it
        with contextlib.suppress(OSError, ValueError):  # a reader gone (`| tee`, Ctrl+C)
            terminal.close()


def _read_lines(read_fd: int, sink: Sink, end: Callable[[], None] | None) -> None:
    """Read the pipe to its end, handing each whole line to `sink`; then `end()`."""
    pending = b""
    with open(read_fd, "rb", buffering=0) as source:
        while chunk := source.read(_READ_BYTES):
            *lines, pending = (pending + chunk).split(b"\n")
            if len(pending) > 4 * LINE_LIMIT:  # no newline coming: end the line here
                lines.append(pending)
                pending = b""
            _hand(sink, lines)
    _hand(sink, [pending] if pending else [])
    if end is not None:
        with contextlib.suppress(Exception):  # as a sink's: the terminal may be gone
            end()


def _hand(sink: Sink, lines: list[bytes]) -> None:
    if lines:
        with contextlib.suppress(Exception):  # the pump outlives a sink's failure
            sink([line.rstrip(b"\r").decode("utf-8", "backslashreplace") for line in lines])
