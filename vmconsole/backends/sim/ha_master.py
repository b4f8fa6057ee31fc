"""The CRM master lock: who holds it, when a new master may take it, and an admin's
stop and start of a node's CRM (pve-ha-manager's CRM.pm).

The lock's lease runs 120 s after the master's last round (a clean exit releases it at
once); only a quorate node whose CRM runs, and only while HA has work (a configured
service, a queued CRM command, a node in maintenance: CRM.pm's can_get_active), takes
it, on its own next round. A new master has seen no node online: its fence delays
start then.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim.ha_lrm import clock_time
from vmconsole.backends.sim.state import SimNode
from vmconsole.backends.sim.timing import LOCK_LEASE, last_crm_round

if TYPE_CHECKING:
    from vmconsole.backends.sim.ha import HAManager


def check_master(manager: HAManager) -> None:
    """After a membership or CRM change: a master that lost quorum loses the lock (its
    lease runs out 120 s after its last round, at once after a clean exit), and the
    next candidate's CRM is scheduled to take it on its first round after that."""
    sim = manager.sim
    if manager.master is not None and not manager.quorate[manager.master]:
        old = sim.nodes[manager.master]
        if manager.released_master:  # a clean CRM exit (shutdown) releases the lock
            manager.master_lock_free_at = sim.now
            sim.narrate(EventKind.CRM_MASTER_LOST, f"the CRM master {old.name} shut down and "
                        "released the manager lock: another node takes it on its next "
                        "round", old.name)
        else:
            manager.master_lock_free_at = (
                last_crm_round(old, sim.now, manager.cadence) + LOCK_LEASE)
            sim.narrate(EventKind.CRM_MASTER_LOST, f"the CRM master {old.name} is lost: a new "
                        "master can take its lock when the lease expires at "
                        f"{clock_time(manager.master_lock_free_at)}", old.name)
        manager.released_master = False
        manager.master = None
        manager.cancel("round", "")
    candidate = next_master(manager)
    if manager.master is None and candidate is not None and (
            manager.timer("takeover", "") is None):
        # The candidate's CRM tries for the lock on each of its rounds.
        free_at = max(manager.master_lock_free_at, sim.now)
        at = last_crm_round(candidate, free_at, manager.cadence)
        manager.schedule("takeover", "", at if at >= free_at else at + manager.cadence.length,
                         partial(takeover, manager))


def next_master(manager: HAManager) -> SimNode | None:
    """The node whose CRM takes the manager lock next: quorate, its CRM running, and
    only while HA has work (CRM.pm's can_get_active: a configured service, a queued
    CRM command or a node in maintenance; an idle CRM stays in wait_for_quorum)."""
    sim = manager.sim
    if not (manager.crm_queue or any(g.ha is not None for g in sim.guests.values())
            or any(n.maintenance for n in sim.nodes.values())):
        return None
    return next((n for n in sim.nodes.values()
                 if manager.quorate[n.name] and n.name not in manager.crm_stopped), None)


def takeover(manager: HAManager) -> None:
    """The candidate takes the manager lock: its memory of when nodes were online starts
    empty, it applies every request and queued command, then runs its first round."""
    sim = manager.sim
    manager.cancel("takeover", "")
    candidate = next_master(manager)
    if candidate is None or manager.master is not None:
        return
    manager.master = candidate.name
    manager.last_online = {}  # a new master has seen no node online yet
    sim.narrate(EventKind.CRM_MASTER, f"{manager.master} is the new CRM master (it took the "
                "manager lock); it starts its own fence delay for nodes it has not seen "
                "online", manager.master)
    for guest in sim.guests.values():
        if guest.ha is not None and manager.quorate.get(guest.node, False):
            manager.services.apply(guest)
    queued, manager.crm_queue = manager.crm_queue, []
    for fn in queued:
        fn()
    manager.crm_round()


def stop_crm(manager: HAManager, node: SimNode) -> None:
    """`systemctl stop pve-ha-crm`: a master releases the manager lock at once."""
    manager.crm_stopped.add(node.name)
    manager.sim.narrate(EventKind.CRM_STOP, f"{node.name}'s CRM stopped", node.name)
    if manager.master == node.name:
        manager.master = None
        manager.cancel("round", "")
        manager.master_lock_free_at = manager.sim.now
        manager.sim.narrate(EventKind.CRM_MASTER_LOST, f"the CRM master {node.name} stopped "
                            "and released the manager lock", node.name)
        check_master(manager)


def start_crm(manager: HAManager, node: SimNode) -> None:
    """`systemctl start pve-ha-crm`: the node may take the manager lock again."""
    manager.crm_stopped.discard(node.name)
    manager.sim.narrate(EventKind.CRM_START, f"{node.name}'s CRM started", node.name)
    check_master(manager)
