"""The simulated cluster: a discrete-event model of a Proxmox VE cluster for teaching.

`open_sim(cfg)` builds it (the classic three-node lab, a generated cluster of any size,
or a named scenario) on a real-time clock at `cfg.time_scale`; tests pass a
`ManualClock` to `SimBackend` and move time themselves.
"""

from __future__ import annotations

from vmconsole.backends.sim.backend import SimBackend
from vmconsole.backends.sim.clock import SIM_EPOCH, ManualClock, RealClock
from vmconsole.config import SimCluster

__all__ = ["SIM_EPOCH", "ManualClock", "RealClock", "SimBackend", "open_sim"]


def open_sim(cfg: SimCluster) -> SimBackend:
    return SimBackend(cfg)
