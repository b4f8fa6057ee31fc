"""Which failure an outage is counted from.

A failover's measurement starts at the poll that saw the failure: at 60x, a poll every
real second is a simulated minute, so the guest had been down for up to a minute when
the first probe went out, and "first reply after 2 min 00 s" from that probe was short
of the failover's downtime. The console marks each event that stands for the guest's
loss with a `Failure`; a gap already open at the first probe is counted from one of them.
Light (no probing stack): the console's first screen imports it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vmconsole.monitor.ping.detector import Outage
    from vmconsole.monitor.ping.measurement import Marker


class Failure(Enum):
    """How an event stands for its guest's loss.

    DOWNED: it took the guest down at that moment (its node's power-off, network cut or
    watchdog reset; a container stopped to be moved). LOST: the cluster lost the guest's
    node (a node lost, a fence); a guest in a partition answers on until its node's
    watchdog resets it (the `partition` scenario: node lost at +14 s, reset at +61 s).
    """

    DOWNED = "downed"
    LOST = "lost"


def from_failure(outage: Outage, markers: Iterable[Marker]) -> Outage:
    """OUTAGE counted from the failure that caused it. A gap that began before the first
    probe (no reply before it: `start_exact` False) starts at the earliest failure
    marked at or before that probe, a DOWNED one rather than a LOST one, and `since`
    names it; any other outage is returned as it is. Times: the measurement's clock."""
    if outage.start_exact:
        return outage
    before = [m for m in markers if m.failure is not None and m.time <= outage.start]
    downed = [m for m in before if m.failure is Failure.DOWNED]
    failure = min(downed or before, key=lambda m: m.time, default=None)
    if failure is None:
        return outage
    return dataclasses.replace(outage, start=failure.time, since=failure.label)
