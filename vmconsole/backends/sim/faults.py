"""Faults a teacher can cause: power a node off, cut its network (it keeps running,
alone), partition the cluster network, lose the shared storage; and restore."""

from __future__ import annotations

from vmconsole.backends.abilities import FaultKind
from vmconsole.backends.base import Conflict, InvalidInput
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.ha import HAManager
from vmconsole.backends.sim.state import SimNode


def inject(sim: Sim, ha: HAManager, node: SimNode, fault: FaultKind) -> None:
    if fault is FaultKind.POWER_OFF:
        if not node.powered:
            raise Conflict(f"{node.name} is already off")
        node.powered = False
        sim.narrate(EventKind.POWER_OFF, f"{node.name} powered off: its guests are gone at once",
                    node.name)
        ha.node_down(node)
    elif fault in (FaultKind.CUT_NETWORK, FaultKind.ISOLATE):
        if not node.net_up:
            raise Conflict(f"{node.name}'s network is already cut")
        node.net_up = False
        sim.touch_node(node)
        sim.narrate(EventKind.NETWORK_CUT,
                    f"{node.name}'s network is cut: it keeps running, alone; "
                    "its guests no longer answer on the network", node.name)
        ha.membership_changed()
    elif fault is FaultKind.LOSE_STORAGE:
        if not node.storage_ok:
            raise Conflict(f"{node.name} has already lost the shared storage")
        node.storage_ok = False
        sim.touch_node(node)
        shared = ", ".join(s.name for s in sim.storages if s.shared)
        sim.narrate(EventKind.STORAGE_LOST, f"{node.name} lost the shared storage ({shared}): its "
                    "running guests keep running but their disk I/O fails, new starts there "
                    "fail; HA does not fence a node for its storage", node.name)


def partition(sim: Sim, ha: HAManager, groups: list[list[str]]) -> None:
    named = [name for group in groups for name in group]
    problems: dict[str, str] = {}
    unknown = sorted(set(named) - set(sim.nodes))
    if unknown:
        problems["groups"] = f"no node {', '.join(unknown)}"
    elif sorted(named) != sorted(sim.nodes):
        problems["groups"] = "name every node exactly once"
    elif len([g for g in groups if g]) < 2:
        problems["groups"] = "a partition needs at least two groups"
    if problems:
        raise InvalidInput("partition refused: " + problems["groups"], problems)
    for label, group in enumerate(groups, 1):
        for name in group:
            sim.nodes[name].partition = label
    sim.narrate(EventKind.PARTITION, "cluster network partitioned: " +
                " | ".join(", ".join(group) for group in groups if group))
    ha.membership_changed()


def restore(sim: Sim, ha: HAManager, node: SimNode | None) -> None:
    nodes = list(sim.nodes.values()) if node is None else [node]
    if node is None:
        for each in nodes:
            each.partition = 0
    else:
        node.partition = _largest_other_partition(sim, node)
    for each in nodes:
        each.net_up = True
        each.storage_ok = True
        sim.touch_node(each)
    sim.narrate(EventKind.RESTORED, "all faults repaired" if node is None else
                f"{node.name} repaired: network, storage and links back",
                None if node is None else node.name)
    for each in nodes:
        if not each.powered:
            ha.power_on(each)
    ha.membership_changed()


def _largest_other_partition(sim: Sim, node: SimNode) -> int:
    sizes: dict[int, int] = {}
    for other in sim.nodes.values():
        if other is not node:
            sizes[other.partition] = sizes.get(other.partition, 0) + 1
    return max(sizes, key=lambda label: (sizes[label], -label)) if sizes else 0
