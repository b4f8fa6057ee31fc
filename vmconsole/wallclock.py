"""Times of day as the daemons' lines quote them: the HA manager's decisions, and what
`vmconsole serve` and `vmconsole ha run` pass on of descriptor 2 (`terminal_lines`)."""

from __future__ import annotations

import time


def clock_time(t: float) -> str:
    """Local wall-clock time of an epoch time (seconds), as the narration quotes it:
    14:02:11."""
    return time.strftime("%H:%M:%S", time.localtime(t))
