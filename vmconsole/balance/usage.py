"""What each node of a cluster carries, as Proxmox VE's cluster resource scheduler
measures it: a node's CPU and memory usage in the static or dynamic mode, its load (the
mean of the two fractions), the cluster's imbalance, and the TOPSIS score of each node
as a guest's target (proxmox-resource-scheduling `src/pve_static.rs`). The rebalance planner
(`balance.planner`) and the HA placements score with these. Pure: reads the model."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from vmconsole.balance.topsis import score
from vmconsole.model import Guest, Inventory, Node, NodeHAState, NodeStatus

MODES = ("static", "dynamic")


@dataclass(frozen=True, slots=True)
class Usage:
    """A node's usage: CPUs busy (may exceed `maxcpu`), memory in bytes."""

    cpu: float
    maxcpu: int
    mem: float
    maxmem: int

    @property
    def cpu_percent(self) -> float:
        return 100 * self.cpu / self.maxcpu if self.maxcpu else 0.0

    @property
    def mem_percent(self) -> float:
        return 100 * self.mem / self.maxmem if self.maxmem else 0.0

    @property
    def load(self) -> float:
        """The mean of CPU and memory percent (proxmox-resource-scheduling's
        NodeStats::load, there as a fraction)."""
        return (self.cpu_percent + self.mem_percent) / 2

    def plus(self, cpu: float, mem: float) -> Usage:
        return Usage(self.cpu + cpu, self.maxcpu, self.mem + mem, self.maxmem)


def node_unusable(node: Node) -> str | None:
    """Why a node takes no guests (offline, HA maintenance, fenced), or None."""
    if node.status is not NodeStatus.ONLINE:
        return f"node {node.name} is {node.status}"
    if node.ha_state == NodeHAState.MAINTENANCE:
        return f"node {node.name} is in maintenance"
    if node.ha_state in (NodeHAState.FENCE, NodeHAState.UNKNOWN, NodeHAState.GONE):
        return f"node {node.name} is {node.ha_state} for the HA manager"
    return None


def guest_usage(guest: Guest, mode: str) -> tuple[float, float]:
    """What a running guest adds to its node: (CPUs, bytes). Static: its configured
    vCPUs and memory (pve_static.rs's StaticServiceUsage); dynamic: what it uses now."""
    if mode == "dynamic":
        return guest.metrics.cpu * guest.maxcpu, float(guest.metrics.mem)
    return float(guest.maxcpu), float(guest.maxmem)


def usage(inventory: Inventory, mode: str) -> dict[str, Usage]:
    """Every usable node's usage (see the module's docstring). Raises ValueError for a
    mode not in MODES."""
    if mode not in MODES:
        raise ValueError(f"scheduler mode {mode!r}: one of {', '.join(MODES)}")
    nodes = {n.name: n for n in inventory.nodes if node_unusable(n) is None}
    out = {name: Usage(0.0, n.maxcpu, 0.0, n.maxmem) for name, n in nodes.items()}
    for guest in inventory.guests:
        if guest.running and guest.node in out:
            out[guest.node] = out[guest.node].plus(*guest_usage(guest, mode))
    if mode == "dynamic":  # the node's own measure, where it reports one
        for name, n in nodes.items():
            measured = out[name]
            cpu = measured.cpu if "cpu" in n.unreported else n.metrics.cpu * n.maxcpu
            mem = measured.mem if "mem" in n.unreported else float(n.metrics.mem)
            out[name] = Usage(cpu, n.maxcpu, mem, n.maxmem)
    return out


def imbalance(loads: Mapping[str, Usage]) -> float:
    """The nodes' imbalance (`node_imbalance` of their loads), 0..1."""
    return node_imbalance([u.load for u in loads.values()])


def node_imbalance(values: Sequence[float]) -> float:
    """proxmox-resource-scheduling's calculate_node_imbalance (src/scheduler.rs, the
    measure Manager.pm's load_balance compares with ha-auto-rebalance-threshold): the
    coefficient of variation (population standard deviation over mean) of the nodes'
    loads; 0 is even, sqrt(n - 1) one of n nodes carrying everything. 0 for fewer than
    two nodes or no load. `values` in any one unit (fractions, percent, counts).

    This is the measure of pve-ha-manager 5.2.0 (b71218f), whose logs it reproduces
    ("imbalance from 1.41 to 0.94" for three nodes). proxmox-rs commit 7f2a463d (April
    2026) divides it by sqrt(n - 1) to keep it within 0..1; pve-ha-manager's tests
    had not followed at that commit."""
    total = sum(values)
    if len(values) < 2 or total <= 0:
        return 0.0
    import statistics  # with the first imbalance: no start computes one (issue 12)

    return statistics.pstdev(values) / (total / len(values))


def topsis_row(loads: Iterable[Usage]) -> list[float]:
    """A cluster's row of TOPSIS criteria (`topsis.PVE_CRITERIA`): 1 + the root mean
    square and 1 + the highest of the nodes' CPU and memory fractions
    (proxmox-resource-scheduling's topsis_alternative_with)."""
    cpus, mems = [], []
    for u in loads:
        cpus.append(u.cpu_percent / 100)
        mems.append(u.mem_percent / 100)
    if not cpus:
        return [1.0, 1.0, 1.0, 1.0]
    return [1 + math.sqrt(sum(c * c for c in cpus) / len(cpus)), 1 + max(cpus),
            1 + math.sqrt(sum(m * m for m in mems) / len(mems)), 1 + max(mems)]


def topsis_scores(loads: Mapping[str, Usage], targets: Iterable[str], cpu: float,
                  mem: float) -> dict[str, float]:
    """pve_static.rs's score_nodes_to_start_service: each target scored (0..1, higher
    is better) by the cluster's average (root mean square) and highest CPU and memory
    usage as if a guest of (`cpu` CPUs, `mem` bytes) ran there."""
    names = list(targets)
    matrix = [topsis_row(u.plus(cpu, mem) if name == target else u
                         for name, u in loads.items()) for target in names]
    return dict(zip(names, score(matrix), strict=True))
