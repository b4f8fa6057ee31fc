"""The cluster as the libvirt HA manager's recovery scores it: each node as a
`rules.NodeView` (why it cannot take the service, its HA services, its memory and, in
the static and dynamic modes, its CPU and memory usage) and what the service adds to a
node in the `crs` mode (Proxmox's Manager.pm select_service_node with Usage/Basic.pm,
Static.pm, Dynamic.pm).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from vmconsole.balance import planner
from vmconsole.ha import rules
from vmconsole.ha.services import ACTIVE, NodeTrack, Service
from vmconsole.model import Inventory, NodeHAState


def node_views(svc: Service, inv: Inventory, services: Iterable[Service],
               nodes: Mapping[str, NodeTrack], mode: str) -> list[rules.NodeView]:
    """Every node of `inv` for placing `svc`: offline, not `online` for the manager
    (`nodes`), or short of the service's memory is out; the HA services counted are the
    others active on it; the static and dynamic modes score the nodes online for the
    manager by `planner.usage` (configured or measured CPU and memory, bytes)."""
    usage = {} if mode == "basic" else {
        name: u for name, u in planner.usage(inv, mode).items()
        if nodes[name].state is NodeHAState.ONLINE}
    load: dict[str, int] = {}
    for other in services:
        if other.state in ACTIVE and other is not svc:
            load[other.node] = load.get(other.node, 0) + 1
    views = []
    for index, node in enumerate(inv.nodes):
        track = nodes[node.name]
        free = node.maxmem - node.metrics.mem
        why = None
        if not node.online:
            why = "offline"
        elif track.state is not NodeHAState.ONLINE:
            why = f"node {track.state} for the manager"
        elif node.maxmem and free < svc.maxmem:
            why = (f"memory: {free / 2**20:.0f} MiB free, it needs "
                   f"{svc.maxmem / 2**20:.0f} MiB")
        used = node.metrics.mem / node.maxmem if node.maxmem else 0.0
        views.append(rules.NodeView(node.name, index, why, load.get(node.name, 0), used,
                                    usage.get(node.name)))
    return views


def scheduler(svc: Service, inv: Inventory, mode: str) -> rules.Scheduler:
    """The `crs` mode and what the service adds to a node in it: its configured vCPUs
    and memory (static, and dynamic while it runs nowhere), or what it uses now
    (dynamic: the inventory's measure of the running guest)."""
    if mode == "basic":
        return rules.Scheduler()
    guest = next((g for g in inv.guests if g.id == svc.id and g.running), None)
    if mode == "dynamic" and guest is not None:
        return rules.Scheduler(mode, *planner.guest_usage(guest, mode))
    return rules.Scheduler(mode, float(svc.maxcpu), float(svc.maxmem))
