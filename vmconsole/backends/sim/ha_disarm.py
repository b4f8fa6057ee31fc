"""Disarming and arming the HA stack (PVE 9.2: `ha-manager crm-command disarm-ha
freeze|ignore`, `arm-ha`), as Manager.pm's handle_disarm and LRM.pm do it.

Disarm is a request the CRM master takes on its next round. It waits while a service is
in `fence`, `recovery`, `migrate` or `relocate` (those finish first); then with `freeze`
every started, stopped or stopping service is frozen, with `ignore` they keep their
states but nothing manages them. Each LRM then releases its agent lock and closes its
watchdog on its next round; once every online LRM has, the stack is fully disarmed and
`fencing` shows `standby`: a node that loses quorum now keeps running, and nobody is
fenced. Arming again unfreezes the services as their LRMs become active.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from vmconsole.backends.base import Conflict, InvalidInput
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim.state import SimNode
from vmconsole.backends.sim.timing import next_round
from vmconsole.model import HARequest, HAState, NodeHAState

if TYPE_CHECKING:
    from vmconsole.backends.sim.ha import HAManager

DISARM_MODES = ("freeze", "ignore")
# The states a disarm waits for (Manager.pm: "deferring disarm").
TRANSIENT = (HAState.FENCE, HAState.RECOVERY, HAState.MIGRATE, HAState.RELOCATE)
FROZEN_ON_DISARM = (HAState.STARTED, HAState.STOPPED, HAState.REQUEST_STOP)


def request_disarm(manager: HAManager, mode: str) -> None:
    """Raises InvalidInput for an unknown mode, Conflict when already disarmed."""
    if mode not in DISARM_MODES:
        raise InvalidInput(f"unknown disarm mode '{mode}' (freeze or ignore)",
                           {"mode": "freeze or ignore"})
    if manager.disarm is not None:
        raise Conflict(f"the HA stack is already disarmed ({manager.disarm})")
    manager.sim.narrate(EventKind.HA_REQUEST, f"disarm-ha {mode} requested: the CRM master acts on "
                        "its next round")

    def crm_round() -> None:
        manager.disarm = mode
        manager.disarmed = False
    manager.on_next_crm_round(crm_round)


def request_arm(manager: HAManager) -> None:
    """Raises Conflict when the stack is armed."""
    if manager.disarm is None:
        raise Conflict("the HA stack is armed already")
    manager.sim.narrate(EventKind.HA_REQUEST, "arm-ha requested: the CRM master acts on its next "
                        "round")

    def crm_round() -> None:
        sim = manager.sim
        manager.disarm, manager.disarmed = None, False
        sim.narrate(EventKind.HA_ARMED, "HA armed again: the LRMs take their agent locks back and "
                    "arm their watchdogs as they have services; frozen services resume")
        for node in sim.nodes.values():
            if node.alive and manager.quorate[node.name] and node.lrm.mode == "disarm":
                sim.at(next_round(node, sim.now, manager.cadence), partial(_lrm_arm, manager, node))
        for node in sim.nodes.values():  # a maintenance that ended while disarmed
            if node.ha_state is NodeHAState.ONLINE:
                manager.placement.return_from_maintenance(node)
    manager.on_next_crm_round(crm_round)


def _lrm_arm(manager: HAManager, node: SimNode) -> None:
    sim = manager.sim
    if not node.alive or node.lrm.mode != "disarm":
        return
    node.lrm.mode = "maintenance" if node.maintenance else "active"
    node.lrm.lock_renewed = node.lrm.watchdog_fed = sim.now
    for guest in manager.services.on_node(node.name, tuple(HAState)):
        assert guest.ha is not None
        if guest.ha.state is HAState.FREEZE:
            guest.ha.state = (HAState.STARTED if guest.ha.request is HARequest.STARTED
                              else HAState.REQUEST_STOP)
            sim.touch(guest.id)
        manager.services.apply(guest)  # requests made while disarmed apply now


def handle(manager: HAManager) -> bool:
    """The disarm's part of a CRM round; True when the round's service handling is to
    be skipped (Manager.pm returns from manage() early)."""
    sim = manager.sim
    guests = [g for g in sim.guests.values() if g.ha is not None]
    if any(g.ha is not None and g.ha.state in TRANSIENT for g in guests):
        return False  # deferred: the transient services finish first
    if manager.disarm == "freeze":
        for guest in guests:
            assert guest.ha is not None
            if guest.ha.state in FROZEN_ON_DISARM:
                guest.ha.state = HAState.FREEZE
                sim.touch(guest.id)
    # An LRM in maintenance stays in it, and its node is not online for the CRM, so
    # it is not waited for (Manager.pm counts the online nodes' LRMs only).
    for node in sim.nodes.values():
        if node.alive and manager.quorate[node.name] and node.lrm.mode not in (
                "disarm", "lost_agent_lock", "maintenance"):
            sim.at(next_round(node, sim.now, manager.cadence), partial(_lrm_disarm, manager, node))
    if not manager.disarmed and all(
            n.lrm.mode == "disarm" for n in sim.nodes.values()
            if n.alive and manager.quorate[n.name] and n.lrm.mode != "maintenance"):
        manager.disarmed = True
        sim.narrate(EventKind.HA_DISARMED, f"all LRMs disarmed ({manager.disarm}): the HA stack is "
                    "fully disarmed, fencing: standby; a node that loses quorum now keeps "
                    "running and nobody is fenced")
    return True


def _lrm_disarm(manager: HAManager, node: SimNode) -> None:
    if manager.disarm is None or not node.alive or node.lrm.mode in ("disarm", "maintenance"):
        return
    node.lrm.mode = "disarm"  # lock released, watchdog closed


def fencing(manager: HAManager) -> str:
    """`armed` while any LRM may fence its node (its watchdog), else `standby`."""
    live = [n for n in manager.sim.nodes.values() if n.alive]
    return ("standby" if live and all(n.lrm.mode in ("disarm", "wait_for_agent_lock")
                                      for n in live) else "armed")
