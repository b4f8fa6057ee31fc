"""The cluster resource scheduler's side of a pve-ha-manager test directory: node sizes,
the services' static and dynamic statistics, datacenter.cfg's `crs` options and the
harness's `set-static-stats` / `set-dynamic-stats` commands (src/PVE/HA/Sim/Hardware.pm).

Where a file gives no figure, the harness's defaults hold (`ha_testdir.NODE_SIZE`,
`STATIC_STATS`, `DYNAMIC_STATS`), in the static and dynamic modes only: a basic-mode
scenario keeps the lesson cluster's small nodes and guests.
"""

from __future__ import annotations

import math

from vmconsole.backends.base import InvalidInput
from vmconsole.backends.sim.balance import CRSSettings
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.ha import HAManager
from vmconsole.backends.sim.ha_testdir import (
    DYNAMIC_STATS,
    NODE_SIZE,
    STATIC_STATS,
    HATestCase,
)
from vmconsole.backends.sim.scenarios import Step
from vmconsole.model import HARequest, HAState
from vmconsole.text import visible

MiB = 2**20
_STAT_KEYS = {"set-static-stats": ("maxcpu", "maxmem"), "set-dynamic-stats": ("cpu", "mem")}


def crs_settings(case: HATestCase) -> CRSSettings | None:
    """The simulator's CRS settings for the case (None: basic, nothing to set), in
    datacenter.cfg's own units (the simulator measures the imbalance as Proxmox does).
    The hold counts CRM rounds, which the simulator runs at the harness's cadence when
    it plays a test directory (HARNESS_LOOP, 20 s), as the scenarios time their
    commands against it."""
    crs = case.crs
    if crs.mode == "basic" and not crs.auto_rebalance and not crs.rebalance_on_start:
        return None
    return CRSSettings(crs.mode, crs.auto_rebalance, crs.threshold, crs.hold, crs.margin,
                       method=crs.method, rebalance_on_start=crs.rebalance_on_start)


def apply_sizes(case: HATestCase, sim: Sim, guest_of: dict[str, str]) -> None:
    """Size the nodes (hardware_status's maxcpu, maxmem) and fix each service's static
    and dynamic figures (`guest_of`: sid -> guest id). Nothing in the basic mode."""
    if case.crs.mode == "basic" and not case.sizes:
        return
    for name, node in sim.nodes.items():
        cpus, mem = case.sizes.get(name, NODE_SIZE)
        node.maxcpu, node.maxmem = max(1, math.ceil(cpus)), int(mem)
    if case.crs.mode == "basic":
        return
    for sid, gid in guest_of.items():
        guest = sim.guests[gid]
        cpus, mem = case.static_stats.get(sid, STATIC_STATS)
        guest.configured = (cpus, float(mem))
        if case.crs.mode == "dynamic":
            used_cpu, used_mem = case.dynamic_stats.get(sid, DYNAMIC_STATS)
            guest.measured = (used_cpu, float(used_mem))


def starts_balanced(case: HATestCase) -> bool:
    """Whether the case's services start through the scheduler: with
    ha-rebalance-on-start, upstream's CRM moves each service asked to start at the
    cluster's start-up to the node it scores best (`request_start_balance`), so the
    simulator builds them stopped and asks for their start at its first moment."""
    return case.crs.rebalance_on_start


def start_up_state(configured: str) -> HAState:
    """The state a service of a `starts_balanced` case starts from, as the CRM adds a
    new service: `request_start` to be started, `request_stop` (which loads its node
    until the next round, Usage.pm) to be kept stopped."""
    return HAState.STOPPED if configured == "started" else HAState.REQUEST_STOP


def start_step(gids: list[str]) -> Step:
    """The HA requests of the services of a `starts_balanced` case, applied on the
    CRM's first round in service order, the starts before the stops: a service to be
    kept stopped still loads its node while the starts are placed."""
    def step(sim: Sim, ha: HAManager) -> None:
        requests = [(g, g.ha.request) for g in map(sim.guest, gids) if g.ha is not None]
        for guest, request in sorted(requests, key=lambda r: r[1] is not HARequest.STARTED):
            ha.services.request(guest, request)
    return step


def stats_step(gid: str, action: str, params: list[str]) -> Step:
    """`service SID set-static-stats [maxcpu N] [maxmem MiB]` or `set-dynamic-stats [cpu
    N] [mem MiB]` as a step. Raises InvalidInput for an unknown key or a value that is
    not a number."""
    keys = _STAT_KEYS[action]
    values: dict[str, float] = {}
    if not params or len(params) % 2:
        raise InvalidInput(f"{action}: expected key value pairs, got {visible(' '.join(params))}",
                           {"command": "key value pairs"})
    for key, value in zip(params[::2], params[1::2], strict=True):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if key not in keys or not math.isfinite(number) or number < 0:
            raise InvalidInput(f"{action}: {visible(key)} {visible(value)}: one of "
                               f"{', '.join(keys)} with a number", {"command": action})
        values[key] = number * MiB if key in ("maxmem", "mem") else number

    def step(sim: Sim, ha: HAManager) -> None:
        guest = sim.guest(gid)
        if action == "set-static-stats":
            cpus, mem = guest.configured or (float(guest.maxcpu), float(guest.maxmem))
            guest.configured = (values.get("maxcpu", cpus), values.get("maxmem", mem))
        else:
            cpus, mem = guest.measured or (0.0, 0.0)
            guest.measured = (values.get("cpu", cpus), values.get("mem", mem))
    return step
