"""What `vmconsole serve` and `vmconsole ha run` write on their terminal of the lines that
reach descriptor 2 (`stderr_pipe`): each made visible and stamped with the date and time
(`2026-12-02 14:02:11 I/O warning : ...`: a log piped to a file is read on other days),
and a line already written in the last minute counted instead of written again.

libxml2 under libvirt's test driver writes the same warning at every reconnection of a
`test:///` host it cannot load, every ~10 s for as long as the daemon runs: written
each time, it buried the daemon's own lines and filled the log it was piped to. Such a
line is written once, then, as long as it keeps coming, once a minute how many times it
came since (`2026-12-02 14:03:11 repeated 6x since 2026-12-02 14:02:11: I/O warning :
...`; the line it counts may have been written hours, or days, before).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass

from vmconsole.text import visible
from vmconsole.wallclock import date_time

#: Seconds within which a line already written is counted instead of written again.
REPEAT_WINDOW_S = 60.0
#: The most lines remembered for counting; the oldest is forgotten (its count written)
#: when another comes, so a library writing ever new lines costs no more than this.
REMEMBERED_LINES = 32


@dataclass(slots=True)
class _Written:
    at: float  # epoch seconds the line, or its count, was last written
    repeats: int = 0  # how many times it came since, unwritten


class TerminalLines:
    """A `stderr_pipe.Sink`: writes each line to `stream`, made visible (cut to `limit`
    characters) and stamped. A line already written is counted instead while it keeps
    coming, its count written once REPEAT_WINDOW_S has passed since the line or its last
    count was (checked as lines come), or at `end()`; one quiet for that long is written
    afresh. Writes are flushed; an error writing (a reader gone) propagates."""

    def __init__(self, stream: io.TextIOBase, limit: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._stream, self._limit, self._clock = stream, limit, clock
        self._written: dict[str, _Written] = {}

    def __call__(self, lines: list[str]) -> None:
        now = self._clock()
        out: list[str] = []
        for line in lines:
            seen = self._written.pop(line, None)
            if seen is not None and (seen.repeats or now - seen.at < REPEAT_WINDOW_S):
                seen.repeats += 1  # its count is written below, once the minute is up
                self._written[line] = seen  # the newest: the last to be forgotten
                continue
            out.append(f"{date_time(now)} {visible(line, self._limit)}")
            self._written[line] = _Written(now)
            while len(self._written) > REMEMBERED_LINES:
                oldest = next(iter(self._written))
                out += self._counted(oldest, self._written.pop(oldest), now)
        for line, seen in list(self._written.items()):
            if now - seen.at < REPEAT_WINDOW_S:
                continue
            if seen.repeats:
                out += self._counted(line, seen, now)
                seen.at, seen.repeats = now, 0
            else:  # quiet for a minute: the next one is written
                del self._written[line]
        self._write(out)

    def end(self) -> None:
        """Write the counts not yet written: the block that wrote them has ended."""
        now = self._clock()
        out = [text for line, seen in self._written.items()
               for text in self._counted(line, seen, now)]
        self._written.clear()
        self._write(out)

    def _counted(self, line: str, seen: _Written, now: float) -> list[str]:
        if not seen.repeats:
            return []
        return [f"{date_time(now)} repeated {seen.repeats}x since {date_time(seen.at)}: "
                f"{visible(line, self._limit)}"]

    def _write(self, out: list[str]) -> None:
        if out:
            self._stream.write("".join(f"{text}\n" for text in out))
            self._stream.flush()
