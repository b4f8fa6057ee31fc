"""Corosync-style membership and votequorum.

Nodes that are powered, booted and can reach each other form one membership (a
partition of the cluster network splits them; a node whose network is cut is alone).
Each node has one vote; expected votes are every configured node plus the QDevice's
vote when there is one. A membership is quorate with a strict majority of the expected
votes. The QDevice (qnetd's ffsplit algorithm) gives its vote to one partition only:
the one with more nodes, and on a tie the one holding the lowest node id.
"""

from __future__ import annotations

from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.state import SimNode
from vmconsole.model import Quorum


def memberships(sim: Sim) -> list[list[SimNode]]:
    """The groups of nodes that see each other, each sorted by node id."""
    groups: dict[tuple[int, str], list[SimNode]] = {}
    for node in sim.nodes.values():
        if not node.alive:
            continue
        key = (node.partition, "") if node.net_up else (-1, node.name)
        groups.setdefault(key, []).append(node)
    return sorted(groups.values(), key=lambda group: group[0].index)


def expected_votes(sim: Sim) -> int:
    return len(sim.nodes) + (1 if sim.qdevice else 0)


def qdevice_holder(sim: Sim, groups: list[list[SimNode]]) -> int | None:
    """Index of the membership that gets the QDevice vote (ffsplit), if any."""
    if not sim.qdevice:
        return None
    reachable = [i for i, group in enumerate(groups) if group[0].net_up]
    if not reachable:
        return None
    return min(reachable, key=lambda i: (-len(groups[i]), groups[i][0].index))


def quorum_by_node(sim: Sim) -> dict[str, Quorum]:
    """Each live node's view of the votes and whether its membership is quorate."""
    groups = memberships(sim)
    holder = qdevice_holder(sim, groups)
    expected = expected_votes(sim)
    out: dict[str, Quorum] = {}
    for i, group in enumerate(groups):
        votes = len(group) + (1 if i == holder else 0)
        quorum = Quorum(votes, expected, votes * 2 > expected)
        for node in group:
            out[node.name] = quorum
    return out


def view(sim: Sim, quorum: dict[str, Quorum]) -> list[SimNode]:
    """The membership the console sees: the quorate one if any, else the one holding
    the lowest live node (the console is connected to some node of the cluster)."""
    groups = memberships(sim)
    for group in groups:
        if quorum[group[0].name].quorate:
            return group
    return groups[0] if groups else []
