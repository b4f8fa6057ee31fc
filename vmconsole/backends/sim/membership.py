"""Corosync-style membership and votequorum.

Nodes that are powered, booted and can reach each other form one membership (a
partition of the cluster network splits them; a node whose network is cut is alone).
Each node has one vote; expected votes are every configured node plus the QDevice's
vote when there is one. A membership is quorate with a strict majority of the expected
votes. The QDevice (qnetd's ffsplit algorithm) gives its vote to one partition only:
the one with more nodes, and on a tie the one holding the lowest node id.

votequorum's options (corosync's votequorum(5)), set in corosync.conf's quorum section:
- two_node: in a two-node cluster one vote is enough: each side of a split is quorate
  (so HA would act on both sides: Proxmox does not support it with HA); implies
  wait_for_all;
- wait_for_all: no membership is quorate until all nodes have been seen together once
  (after a cold start of the whole cluster);
- last_man_standing: 10 s (the window) after nodes left a quorate membership, expected
  votes drop to the votes present, so the cluster can shrink one node at a time down
  to two nodes (one with auto_tie_breaker);
- auto_tie_breaker: on an even split, the half holding the lowest node id is quorate.
"""

from __future__ import annotations

from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.state import SimNode
from vmconsole.ha import quorum as votequorum
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
    options = sim.votequorum
    expected = options.expected or expected_votes(sim)
    lowest = min((n.index for n in sim.nodes.values()), default=0)
    out: dict[str, Quorum] = {}
    for i, group in enumerate(groups):
        votes = len(group) + (1 if i == holder else 0)
        quorate = votequorum.quorate(votes, expected)
        if options.two_node and len(sim.nodes) == 2 and not sim.qdevice:
            quorate = votes >= 1
        if options.auto_tie_breaker and votes * 2 == expected and (
                group[0].index == lowest):
            quorate = True
        if options.waits_for_all and not options.seen_all:
            quorate = False
        quorum = Quorum(votes, expected, quorate)
        for node in group:
            out[node.name] = quorum
    return out


def update(sim: Sim) -> bool:
    """Keep votequorum's state after a membership change: wait_for_all sees every node
    together (or waits again after a cold start); expected votes rise at once when nodes
    join. Returns True when last_man_standing should recount after its window."""
    options = sim.votequorum
    groups = memberships(sim)
    if not groups:
        options.seen_all = False  # the whole cluster is down: a cold start follows
    elif any(len(group) == len(sim.nodes) for group in groups):
        options.seen_all = True
    if options.expected is not None:
        biggest = max((len(g) for g in groups), default=0) + (1 if sim.qdevice else 0)
        options.expected = max(options.expected, biggest)
        if options.expected >= expected_votes(sim):
            options.expected = None
    return options.last_man_standing


def last_man_standing(sim: Sim) -> str | None:
    """After the window: a quorate membership that lost nodes lowers expected votes to
    the votes it has (not below two, or one with auto_tie_breaker). Returns what changed,
    for the narration."""
    options = sim.votequorum
    quorum = quorum_by_node(sim)
    floor = 1 if options.auto_tie_breaker else 2
    for group in memberships(sim):
        q = quorum[group[0].name]
        if q.quorate and q.votes < q.expected:
            new = max(q.votes, floor)
            if new < q.expected:
                options.expected = new
                return (f"last_man_standing: {', '.join(n.name for n in group)} lowered the "
                        f"expected votes from {q.expected} to {new}")
    return None


def view(sim: Sim, quorum: dict[str, Quorum]) -> list[SimNode]:
    """The membership the console sees: the quorate one if any, else the one holding
    the lowest live node (the console is connected to some node of the cluster)."""
    groups = memberships(sim)
    for group in groups:
        if quorum[group[0].name].quorate:
            return group
    return groups[0] if groups else []


def why_quorate(sim: Sim, group: list[SimNode], quorum: Quorum) -> str:
    """Which votequorum rule made this membership quorate or not, in a few words."""
    options = sim.votequorum
    if options.waits_for_all and not options.seen_all:
        return "wait_for_all: not all nodes seen together yet"
    if votequorum.quorate(quorum.votes, quorum.expected):
        qdevice = " with the QDevice's vote" if quorum.votes > len(group) else ""
        return f"a majority{qdevice}"
    if quorum.quorate and options.two_node:
        return "two_node: one vote is enough"
    if quorum.quorate:
        return "auto_tie_breaker: an even split, and it holds the lowest node id"
    return f"no majority (it needs {quorum.expected // 2 + 1})"


def split_story(sim: Sim) -> str | None:
    """For a cluster split in parts: each part's votes, and which side may act, why."""
    groups = memberships(sim)
    if len(groups) < 2:
        return None
    quorum = quorum_by_node(sim)
    parts = []
    for group in groups:
        q = quorum[group[0].name]
        parts.append(f"{', '.join(n.name for n in group)}: {q.votes} of {q.expected} votes, "
                     f"{'quorate' if q.quorate else 'not quorate'} "
                     f"({why_quorate(sim, group, q)})")
    quorate = [g for g in groups if quorum[g[0].name].quorate]
    if len(quorate) > 1:
        verdict = ("more than one side is quorate: each side's HA manager may recover the "
                   "other's services, so guests can run twice - why Proxmox VE does not "
                   "support two_node with HA")
    elif quorate:
        names = ", ".join(n.name for n in quorate[0])
        verdict = (f"only {names} may act: its CRM master fences the other nodes after the "
                   "fence delay; a node outside it with active HA services fences itself "
                   "by its watchdog")
    else:
        verdict = ("no side may act: without quorum no CRM master can fence or recover "
                   "anything; each node with active HA services fences itself by its "
                   "watchdog, and the HA services stay down until quorum returns (a QDevice "
                   "or auto_tie_breaker lets one side keep quorum)")
    return "split: " + " | ".join(parts) + ". " + verdict
