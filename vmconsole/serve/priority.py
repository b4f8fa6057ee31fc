"""Who gets the CPU first among a server's session processes: the consoles of those who
act (operators, admins, the teacher) over the viewers' (a class's students).

A viewer's process starts at nice +VIEWER_NICE, at which it draws its console and its
first screen for its user; once that screen is drawn it moves to Linux's SCHED_IDLE
policy (sched(7)), where it runs only on a core no other process wants and is
preempted at once when one does. Sixty idle viewers at nice +5 still weighed
60 x 335 against an operator's 1024 (the kernel's nice-to-weight table) and an
operator's key waited behind their repaints of each poll; at SCHED_IDLE each weighs
3. A process may enter SCHED_IDLE or raise its nice value by itself, but not undo
either without CAP_SYS_NICE: so the steps go one way, the first screen before the
idle policy. On a machine kept busy by other work, idle viewers' screens wait for
that work (their polls are then coalesced, `remote.RemoteLoop.receive`): a class's
server should have its cores to itself.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

VIEWER_NICE = 5  # a viewer's process until its first screen is drawn


def lower_for_first_screen() -> None:
    """This process (a viewer's, or a console waiting for one) yields to operators'
    while it draws its console: nice +VIEWER_NICE."""
    os.nice(VIEWER_NICE)


def idle_from_now() -> None:
    """This process (a viewer's, its first screen drawn) runs from now on only when a
    core has nothing else to run: SCHED_IDLE. An OSError (a kernel without it) leaves
    it at its nice value."""
    with contextlib.suppress(OSError):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def lift_for_exit(pid: int) -> None:
    """Process `pid` (a viewer's, being killed) back to SCHED_OTHER, so that its exit
    gets the CPU: at SCHED_IDLE on a machine with no idle core, a killed console took
    7-8 s to be gone. Needs CAP_SYS_NICE (a server run as root) or an RLIMIT_NICE that
    allows it (sched(7)); without, the OSError is ignored and it ends at its own pace,
    running no code of its own meanwhile."""
    with contextlib.suppress(OSError):
        os.sched_setscheduler(pid, os.SCHED_OTHER, os.sched_param(0))


def policy(pid: int) -> int:
    """The scheduling policy of process `pid` as /proc/PID/stat gives it (field 41,
    proc(5)): SCHED_OTHER 0, SCHED_IDLE 5. Raises OSError when the process is gone."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[38])  # fields 3.. follow the command's closing parenthesis
