"""What is written to file descriptor 2 while the local console draws the terminal.

Textual's Linux driver draws on `sys.__stderr__`, descriptor 2, and descriptor 2 is
also where a C library or a child process of the console reports: libxml2 under
libvirt's test driver ("I/O warning : failed to load external entity" and the URI's
file name, escapes and all), the `ssh` that a `qemu+ssh://` URI starts ("Host key
verification failed."), a Python thread's last traceback. Written raw between two
frames, such a line overwrites the screen, and the terminal obeys its escape sequences:
a file name in a config could retitle the terminal or clear it.

So while the console runs, descriptor 2 is a pipe: a thread reads it and appends each
line, made visible (`vmconsole.text.visible`), to the console's log, and the driver
draws on a descriptor of its own, a duplicate of the terminal's.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.drivers.linux_driver import LinuxDriver

from vmconsole.text import visible

#: The most of one line that the log keeps, in characters: a library that writes
#: without newlines still ends a line here.
LINE_LIMIT = 2000
_READ_BYTES = 65536
#: A read end that a child process still holds open (an `ssh` started by libvirt has
#: descriptor 2 as its stderr) gives no end of file when the console ends; its thread is
#: then left to the process's exit after this many seconds.
_DRAIN_S = 1.0


class TerminalDriver(LinuxDriver):
    """Textual's Linux driver, drawing on `terminal` instead of `sys.__stderr__`."""

    terminal: ClassVar[io.TextIOWrapper]

    @classmethod
    def drawing_on(cls, terminal: io.TextIOWrapper) -> type[TerminalDriver]:
        """A driver class that draws on `terminal`: the app builds its driver from a
        class, so the class carries the stream (as `serve.driver.ChannelDriver` does)."""
        return type(cls.__name__, (cls,), {"terminal": terminal})

    def __init__(self, app: App[Any], *, debug: bool = False, mouse: bool = True,
                 size: tuple[int, int] | None = None) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=size)
        self._file = self.terminal


@contextlib.contextmanager
def stderr_to_log(log: Path) -> Iterator[io.TextIOWrapper]:
    """Within the block, what anything in the process writes to descriptor 2 goes to
    `log`, a line at a time, as `DATE TIME WARNING stderr: LINE` with LINE made visible
    and cut to LINE_LIMIT characters; a line the log cannot take (a full disk, a file
    that cannot be opened) is dropped, there being no screen to say it on.

    Yields the terminal that descriptor 2 was, as a text stream for the console to draw
    on (`TerminalDriver.drawing_on`); on leaving, descriptor 2 is the terminal again.
    Raises OSError if the descriptors cannot be made; nothing is changed then."""
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
    pump = threading.Thread(target=_append_lines, args=(read_fd, log),
                            name="stderr-to-log", daemon=True)
    pump.start()
    try:
        yield terminal
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        with contextlib.suppress(OSError, ValueError):
            terminal.flush()
        os.dup2(terminal_fd, 2)  # the pipe's last write end closes: the pump reads its end
        terminal.close()
        pump.join(_DRAIN_S)


def _append_lines(read_fd: int, log: Path) -> None:
    """Read the pipe to its end, appending each whole line to `log`."""
    pending = b""
    with open(read_fd, "rb", buffering=0) as source:
        while chunk := source.read(_READ_BYTES):
            *lines, pending = (pending + chunk).split(b"\n")
            if len(pending) > 4 * LINE_LIMIT:  # no newline coming: end the line here
                lines.append(pending)
                pending = b""
            _append(log, lines)
    _append(log, [pending] if pending else [])


def _append(log: Path, lines: list[bytes]) -> None:
    if not lines:
        return
    now = time.time()
    # The shape of the log's other lines (`launch.log_to_file`: logging's asctime).
    stamp = f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(now))},{int(now % 1 * 1000):03d}"
    said = (line.rstrip(b"\r").decode("utf-8", "backslashreplace") for line in lines)
    text = "".join(f"{stamp} WARNING stderr: {visible(line, LINE_LIMIT)}\n" for line in said)
    with contextlib.suppress(OSError), open(log, "a", encoding="utf-8") as file:
        file.write(text)
