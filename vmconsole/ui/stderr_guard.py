"""What is written to file descriptor 2 while the local console draws the terminal.

Textual's Linux driver draws on `sys.__stderr__`, descriptor 2, where C libraries and
child processes report too (`vmconsole.stderr_pipe` says which, and what a raw line's
escapes do to the screen). While the console runs, descriptor 2 is a pipe whose lines,
made visible, are appended to the console's log, and the driver draws on a duplicate of
the terminal's descriptor.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.drivers.linux_driver import LinuxDriver

from vmconsole.stderr_pipe import LINE_LIMIT, stderr_through
from vmconsole.text import visible


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
    with stderr_through(lambda lines: _append(log, lines)) as terminal:
        yield terminal


def _append(log: Path, lines: list[str]) -> None:
    now = time.time()
    # The shape of the log's other lines (`launch.log_to_file`: logging's asctime).
    stamp = f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(now))},{int(now % 1 * 1000):03d}"
    text = "".join(f"{stamp} WARNING stderr: {visible(line, LINE_LIMIT)}\n" for line in lines)
    with contextlib.suppress(OSError), open(log, "a", encoding="utf-8") as file:
        file.write(text)
