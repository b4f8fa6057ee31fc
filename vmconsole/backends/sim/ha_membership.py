"""What the HA stack does when corosync's membership changes (a node dies, boots,
loses or regains its links): the quorum of each group of nodes that see each other is
narrated, each LRM learns at once whether its node is quorate (its watchdog: `ha_lrm`),
the CRM master's view of the nodes is kept, Fault Tolerance's pairs are told who sees
whom, and the master lock is checked (`ha_master`). votequorum's last man standing
shrinks the expected votes after its window (`membership`).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim import ha_lrm, ha_master, membership
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.timing import last_round

if TYPE_CHECKING:
    from vmconsole.backends.sim.ha import HAManager


def signatures(sim: Sim) -> set[tuple[tuple[str, ...], int, int, bool]]:
    """Each group of nodes that see each other, with its quorum: (names, votes,
    expected votes, quorate)."""
    quorum = membership.quorum_by_node(sim)
    out = set()
    for group in membership.memberships(sim):
        q = quorum[group[0].name]
        out.add((tuple(n.name for n in group), q.votes, q.expected, q.quorate))
    return out


def changed(manager: HAManager) -> None:
    """React to nodes dying, booting, losing or regaining their links: the LRMs at
    once (their watchdogs), the CRM master on its next round."""
    sim = manager.sim
    if membership.update(sim):
        manager.schedule("lms", "", sim.now + sim.votequorum.lms_window,
                         partial(_last_man_standing, manager))
    groups = signatures(sim)
    if groups != manager.member_groups and (story := membership.split_story(sim)):
        sim.narrate(EventKind.SPLIT, story)
    for names, votes, expected, quorate in sorted(groups - manager.member_groups):
        who = f"{', '.join(names)} {'has' if len(names) == 1 else 'have'}"
        qdevice = " (with the QDevice's)" if votes > len(names) else ""
        if quorate:
            sim.narrate(EventKind.QUORUM,
                        f"quorum: {who} {votes} of {expected} votes{qdevice}, "
                        "quorate", names[0])
        else:
            sim.narrate(EventKind.QUORUM_LOST,
                        f"quorum: {who} {votes} of {expected} votes, not "
                        f"quorate (a majority is {expected // 2 + 1}): the cluster file "
                        "system is read-only there", names[0])
    manager.member_groups = groups
    quorum = membership.quorum_by_node(sim)
    now_quorate = {name: quorum.get(name) is not None and quorum[name].quorate
                   for name in sim.nodes}
    for name, node in sim.nodes.items():
        was, now = manager.quorate[name], now_quorate[name]
        manager.quorate[name] = now
        if was and not now:
            ha_lrm.lost(manager, node)
        elif now and not was:
            ha_lrm.joined(manager, node)
    members = master_members(manager)
    for name in manager.master_view - members:
        if manager.quorate[name]:  # quorate on its own side (two_node): the master no
            node = sim.nodes[name]  # longer sees its lock being renewed
            node.lrm.lock_renewed = last_round(node, sim.now, manager.cadence)
    manager.master_view = members
    if sim.ft:
        from vmconsole.backends.sim import ft  # loaded by `ft.enable`, which made the pairs

        reachable: dict[str, set[str]] = {n.name: set() for n in sim.nodes.values()}
        for group in membership.memberships(sim):
            for node in group:
                reachable[node.name] = {n.name for n in group}
        ft.membership_changed(sim, reachable, manager.quorate)
    ha_master.check_master(manager)


def _last_man_standing(manager: HAManager) -> None:
    manager.cancel("lms", "")
    if change := membership.last_man_standing(manager.sim):
        manager.sim.narrate(EventKind.QUORUM, change)
        changed(manager)


def master_members(manager: HAManager) -> set[str]:
    """The nodes in the CRM master's membership: the ones it sees online."""
    if manager.master is None:
        return set()
    for group in membership.memberships(manager.sim):
        if any(n.name == manager.master for n in group):
            return {n.name for n in group}
    return set()
