"""What each node carries for the cluster resource scheduler (CRS) when the CRM places a
service: pve-ha-manager's Usage.pm and its static and dynamic modes.

- static (Usage/Static.pm, proxmox-resource-scheduling `pve_static.rs`): a node carries
  the configured vCPUs and memory of the HA services on it in the states that use a
  node (started, request_stop, fence, freeze, error, recovery, migrate, relocate:
  Usage.pm's get_used_service_nodes; a moving one on its target as well) and of the
  other guests running there (Manager.pm's recompute_online_node_usage adds the non-HA
  resources too);
- dynamic (Usage/Dynamic.pm, PVE 9.2): what the guests running there use now (the load
  model's CPU and memory, or the figures a lesson fixed with `measured`), and a moving
  service's on its target;
- in both, a service moving to its start node (`request_start_balance`) on that node
  only.

Only nodes the CRM counts as online carry usage (Manager.pm's online_node_usage): the
others are not scored.
"""

from __future__ import annotations

from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.state import MOVING_STATES, SimGuest
from vmconsole.balance.usage import Usage
from vmconsole.ha.rules import Scheduler
from vmconsole.model import HAState

# Usage.pm's get_used_service_nodes: the states in which a service loads its node.
LOADING_STATES = (HAState.STARTED, HAState.REQUEST_STOP, HAState.FENCE, HAState.FREEZE,
                  HAState.ERROR, HAState.RECOVERY, HAState.MIGRATE, HAState.RELOCATE)


def service_usage(sim: Sim, guest: SimGuest, mode: str) -> tuple[float, float]:
    """What `guest` adds to a node in `mode`: (CPUs, bytes). Static: its configured
    vCPUs and memory (`configured` if a lesson fixed them); dynamic: `measured` if a
    lesson fixed it, else the load model's figures now (nothing while it is stopped)."""
    if mode == "static":
        return guest.configured or (float(guest.maxcpu), float(guest.maxmem))
    if guest.measured is not None:
        return guest.measured
    inst = sim.running_on_own_node(guest)
    if inst is None:
        return 0.0, 0.0
    cpu, mem, *_ = sim.load.figures(guest.load_index, sim.now, guest.maxmem,
                                    sim.now - inst.since, guest.boot_seconds)
    return cpu * guest.maxcpu, float(mem)


def node_usage(sim: Sim, online: list[str], mode: str) -> dict[str, Usage]:
    """Each of the `online` nodes' usage in `mode` ("static" or "dynamic"), from every
    guest (see the module's docstring). One pass over the guests."""
    out = {name: Usage(0.0, sim.nodes[name].maxcpu, 0.0, sim.nodes[name].maxmem)
           for name in online}
    for guest in sim.guests.values():
        if guest.template:
            continue
        ha = guest.ha
        if ha is not None and ha.state is not HAState.IGNORED:
            if ha.state is HAState.REQUEST_START_BALANCE and ha.target is not None:
                nodes = [ha.target]  # not running yet: only its target
            elif ha.state not in LOADING_STATES:
                continue
            else:
                nodes = [guest.node]
            if ha.state in MOVING_STATES and ha.target not in (None, guest.node):
                nodes.append(ha.target or "")
        elif sim.running_on_own_node(guest) is not None:
            nodes = [guest.node]
        else:
            continue
        if not any(n in out for n in nodes):
            continue
        cpu, mem = service_usage(sim, guest, mode)
        for node in nodes:
            if node in out:
                out[node] = out[node].plus(cpu, mem)
    return out


def scheduler(sim: Sim, guest: SimGuest, mode: str) -> Scheduler:
    """The CRS mode with what `guest` would add to a node in it. In the dynamic mode a
    stopped service is counted at its configured size: it has no measure yet."""
    if mode == "basic":
        return Scheduler()
    cpu, mem = service_usage(sim, guest, mode)
    if mode == "dynamic" and guest.measured is None and (cpu, mem) == (0.0, 0.0):
        cpu, mem = service_usage(sim, guest, "static")
    return Scheduler(mode, cpu, mem)
