"""The format of vmconsole's log lines: the local console's log file (`ui.launch`) and
the lines `vmconsole serve` and its session processes write to stderr.

A log record quotes strings from a config file or a backend (a cluster's name in "poll
of NAME failed", a `test:///` file name in an OSError). Written raw, their escapes are
obeyed by whatever shows the log (`tail -f console.log`, the server's terminal), and a
newline in a name forges a line of its own. Every record's text is therefore made
visible here (`vmconsole.text.visible`), in the one formatter every handler uses.
"""

from __future__ import annotations

import logging
import sys
from types import TracebackType

from vmconsole.text import visible, visible_lines

#: The local console's log file: each line stamped, as the stderr lines put there are
#: (`ui.stderr_guard`).
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Serve's stderr: no time here, every line on descriptor 2 is stamped on its way to
#: the terminal (`stderr_pipe.stderr_through`, `terminal_lines`).
STDERR_FORMAT = "%(message)s"

#: What `logging.Formatter.formatException` is given: a record's `exc_info`.
ExcInfo = (tuple[type[BaseException], BaseException, TracebackType | None]
           | tuple[None, None, None])


class VisibleFormatter(logging.Formatter):
    """A `logging.Formatter` whose output shows every character as itself: the message
    line with its line breaks escaped too (a name cannot start a line of its own), a
    traceback or stack keeping its line breaks (each line made visible). Nothing is cut:
    a log is read for the whole of an error."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return visible(super().formatMessage(record), limit=None)

    def formatException(self, ei: ExcInfo) -> str:
        return visible_lines(super().formatException(ei), limit=None)

    def formatStack(self, stack_info: str) -> str:
        return visible_lines(super().formatStack(stack_info), limit=None)


def log_to_stderr() -> None:
    """Send INFO and above of every logger to stderr, one visible line per record (a
    traceback's lines after it): `vmconsole serve`'s and its session processes' log."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(VisibleFormatter(STDERR_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
