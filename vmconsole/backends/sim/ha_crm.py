"""The CRM master's round (pve-ha-manager's Manager.pm manage(), NodeStatus.pm): node
states as the quorate membership shows them, fencing, recovery and the services' moves,
with the CRS's balancing first.

`HAManager.crm_round` imports this module on the master's first round, about 10 s
after the cluster is built: a console's first screen and first polls need none of the
round's work, nor the placement rules and scoring it imports (issue 12).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim import balance, ha_disarm, ha_membership
from vmconsole.backends.sim.ha_lrm import clock_time
from vmconsole.backends.sim.ha_placement import OPERATIONAL, services_text
from vmconsole.backends.sim.state import MOVING_STATES, SimGuest, SimNode
from vmconsole.backends.sim.timing import FENCE_DELAY, LOCK_LEASE
from vmconsole.ha import rules
from vmconsole.model import HAState, NodeHAState

if TYPE_CHECKING:
    from vmconsole.backends.sim.ha import HAManager

# Services in these states are fenced when their node has been offline for the fence
# delay (Manager.pm's next_state_started, _request_stop and _migrate_relocate).
FENCEABLE = (HAState.STARTED, HAState.REQUEST_STOP, HAState.MIGRATE, HAState.RELOCATE)


def crm_round(manager: HAManager) -> None:
    """One round of the master's CRM (Manager.pm's manage()), its master being set."""
    if manager.crm_blocked():
        if manager.skip_crm > 0:
            manager.skip_crm -= 1
            manager.sim.narrate(EventKind.SKIPPED_ROUND, f"the CRM master {manager.master} "
                                "skips a round (it was busy or blocked): nothing changes "
                                "state until the next")
        manager.schedule_round()
        return
    queued, manager.crm_queue = manager.crm_queue, []
    for fn in queued:
        fn()
    _update_nodes(manager)
    if manager.disarm is None or not ha_disarm.handle(manager):
        # Manager.pm's manage() balances before its service state loop, on the
        # states the last round wrote: a move the last round left in `migrate` is
        # still one for the balancer, which waits a round, though it has landed
        if not manager.moving_at_last_round:
            balance.crm_round(manager)
        _manage(manager)
        manager.moving_at_last_round = manager.crs.auto_rebalance and any(
            g.ha is not None and g.ha.state in MOVING_STATES
            for g in manager.sim.guests.values())
    manager.schedule_round()


def _offline_delayed(manager: HAManager, node: SimNode) -> bool:
    """NodeStatus.pm's node_is_offline_delayed: the fence delay has passed since the
    master last saw the node online (a node it never saw starts the count now)."""
    last = manager.last_online.get(node.name)
    if last is None:
        manager.last_online[node.name] = manager.sim.now
        return False
    return rules.offline_delayed(last, manager.sim.now, FENCE_DELAY)


def _update_nodes(manager: HAManager) -> None:
    """NodeStatus.pm's update(): node states as the quorate membership shows them."""
    sim, now = manager.sim, manager.sim.now
    members = ha_membership.master_members(manager)
    for node in sim.nodes.values():
        state = node.ha_state
        if node.name in members:
            manager.last_online[node.name] = now
            maintenance = node.lrm.mode == "maintenance"
            if state is None:
                _set_node_state(manager, node, NodeHAState.ONLINE)
                sim.narrate(EventKind.NODE_ONLINE, f"{node.name} is online for the HA manager "
                            "(the first master's first round)", node.name)
            elif state is NodeHAState.UNKNOWN:
                _set_node_state(manager, node, NodeHAState.ONLINE)
                sim.narrate(EventKind.NODE_ONLINE, f"{node.name} is back in the quorate "
                            "membership", node.name)
            elif state is NodeHAState.ONLINE and maintenance:
                _set_node_state(manager, node, NodeHAState.MAINTENANCE)
                sim.narrate(EventKind.MAINTENANCE, f"{node.name} is in maintenance: the HA "
                            "manager migrates its HA services away (VMs live, containers "
                            "by restart); other guests stay", node.name)
            elif state is NodeHAState.MAINTENANCE and not maintenance:
                _set_node_state(manager, node, NodeHAState.ONLINE)
                manager.placement.maintenance_ended(node)
        elif state is NodeHAState.ONLINE or (
                state is NodeHAState.MAINTENANCE and node.lrm.mode != "maintenance"):
            _set_node_state(manager, node, NodeHAState.UNKNOWN)
            _narrate_lost(manager, node)


def _set_node_state(manager: HAManager, node: SimNode, state: NodeHAState | None) -> None:
    node.ha_state = state
    manager.sim.touch_node(node)


def _narrate_lost(manager: HAManager, node: SimNode) -> None:
    sim = manager.sim
    services = manager.services.on_node(node.name, FENCEABLE)
    if services:
        seen = manager.last_online.get(node.name, sim.now)
        sim.narrate(EventKind.NODE_LOST,
                    f"{node.name} lost: waiting for the {FENCE_DELAY:.0f} s "
                    f"fence delay (from {clock_time(seen)}, the CRM's last round that saw "
                    f"it online) before fencing its {services_text(len(services))}",
                    node.name)
    elif frozen := manager.services.on_node(node.name, (HAState.FREEZE,)):
        sim.narrate(EventKind.NODE_LOST, f"{node.name} left the cluster: its "
                    f"{services_text(len(frozen))} are frozen and wait for it", node.name)
    else:
        sim.narrate(EventKind.NODE_LOST, f"{node.name} lost: it has no HA services, there is "
                    "nothing to fence or recover", node.name)


def _manage(manager: HAManager) -> None:
    """The services' side of a round: fence, recover, fail back, drain."""
    sim = manager.sim
    ha_guests = [g for g in sim.guests.values() if g.ha is not None]
    to_fence: dict[str, list[SimGuest]] = {}
    members = ha_membership.master_members(manager)
    for guest in ha_guests:
        assert guest.ha is not None
        node = sim.nodes[guest.node]
        # Manager.pm's next_state_started: a node in maintenance is not online
        # either; once it has been gone for the fence delay, its services are fenced
        # (a node already in `fence` too: a new master starts its own delay for it)
        gone = node.ha_state not in OPERATIONAL or (
            node.ha_state is NodeHAState.MAINTENANCE and node.name not in members)
        if guest.ha.state in FENCEABLE and gone and _offline_delayed(manager, node):
            guest.ha.state = HAState.FENCE
            sim.touch(guest.id)
        if guest.ha.state is HAState.FENCE:
            to_fence.setdefault(guest.node, []).append(guest)
    for name in sorted(to_fence):
        _fence(manager, sim.nodes[name], to_fence[name])
    for node in sim.nodes.values():  # a fence with no services left (an admin's doing)
        if node.ha_state is NodeHAState.FENCE and node.name not in to_fence:
            _fence(manager, node, [])
    for guest in ha_guests:
        assert guest.ha is not None
        if guest.ha.state is HAState.RECOVERY:
            manager.placement.recover(guest)
        elif guest.ha.state is HAState.STARTED and guest.busy is None:
            manager.placement.place(guest)


def _fence(manager: HAManager, node: SimNode, services: list[SimGuest]) -> None:
    """NodeStatus.pm's fence_node: enter `fence`, then take the node's agent lock once
    its lease has expired (by then its watchdog has surely reset it)."""
    sim = manager.sim
    free_at = node.lrm.lock_renewed + LOCK_LEASE
    if node.ha_state is not NodeHAState.FENCE:
        _set_node_state(manager, node, NodeHAState.FENCE)
        sim.narrate(EventKind.FENCE, f"fencing {node.name}: {services_text(len(services))} in "
                    f"'fence'; the CRM waits for its agent lock, free at "
                    f"{clock_time(max(free_at, sim.now))} (120 s after its last renewal), "
                    "when its watchdog has surely reset it", node.name)
    if sim.now < free_at:
        return
    _set_node_state(manager, node, NodeHAState.UNKNOWN)
    sim.narrate(EventKind.FENCED, f"{manager.master} got {node.name}'s agent lock: {node.name} "
                f"is fenced; recovering its {services_text(len(services))}", node.name)
    for guest in services:
        assert guest.ha is not None
        guest.ha.state = HAState.RECOVERY
        sim.touch(guest.id)
