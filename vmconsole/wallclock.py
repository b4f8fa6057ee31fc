"""Times as the daemons' lines quote them: the time of day in the HA manager's decisions,
the date and time on what `vmconsole serve` and `vmconsole ha run` pass on of descriptor 2
(`terminal_lines`), a log read on a later day."""

from __future__ import annotations

import time


def clock_time(t: float) -> str:
    """Local wall-clock time of an epoch time (seconds), as the narration quotes it:
    14:02:11."""
    return time.strftime("%H:%M:%S", time.localtime(t))


def date_time(t: float) -> str:
    """Local date and wall-clock time of an epoch time (seconds), ISO 8601 with a space
    (as `logging`'s asctime, without its milliseconds): 2026-12-02 14:02:11."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
