"""A node's LRM on the HA manager's side: whether its watchdog is armed, what it does when
its node leaves or rejoins the quorate membership, the reset when the watchdog expires,
and an admin's LRM restart and maintenance request (pve-ha-manager's LRM.pm).

- an LRM that has been active stays armed (watchdog) until it has had no HA service
  for 60 rounds (`max_active_idle_rounds`);
- a node that loses quorum with its watchdog armed can no longer renew its agent lock
  and stops feeding the watchdog: the node resets 60 s after the last feed;
- a node back in the quorate membership while the master fences it keeps its lock
  released: nothing backs out of a fence.
"""

from __future__ import annotations

import time as _time
from typing import TYPE_CHECKING

from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim.state import ACTIVE_STATES, SimNode
from vmconsole.backends.sim.timing import (
    IDLE_ROUNDS,
    WATCHDOG_TIMEOUT,
    last_round,
    next_round,
)
from vmconsole.model import HARequest, HAState, NodeHAState

if TYPE_CHECKING:
    from vmconsole.backends.sim.ha import HAManager


def clock_time(t: float) -> str:
    return _time.strftime("%H:%M:%S", _time.gmtime(t))


def lrm_armed(manager: HAManager, node: SimNode, t: float) -> tuple[bool, str]:
    """Whether the node's watchdog is armed, and why (LRM.pm: an LRM takes its agent
    lock, and arms the watchdog, once it has a service to run; it gives both up only
    after `max_active_idle_rounds` rounds without any, or when HA is disarmed)."""
    if node.lrm.mode != "disarm" and manager.services.on_node(node.name):
        return True, "it runs HA services"
    if node.lrm.mode == "disarm":
        return False, "HA is disarmed: its LRM released its agent lock and watchdog"
    if node.lrm.mode not in ("active", "maintenance"):
        return False, "its LRM never took its agent lock (it had no HA service to run)"
    if node.lrm.mode == "maintenance":
        return False, "its LRM is in maintenance with no HA service left"
    if manager.services.on_node(node.name, tuple(s for s in HAState
                                                 if s is not HAState.IGNORED)):
        return True, "its LRM is active (it has HA services, stopped ones too)"
    idle = IDLE_ROUNDS * manager.cadence.length
    since = node.lrm.idle_since
    if since is not None and t - since <= idle:
        return True, (f"its LRM is still active: its last HA service left at "
                      f"{clock_time(since)}, and an LRM goes idle only after "
                      f"{IDLE_ROUNDS} rounds ({idle:.0f} s) without one")
    node.lrm.mode = "wait_for_agent_lock"
    return False, f"its LRM went idle after {idle:.0f} s without HA services"


def lost(manager: HAManager, node: SimNode) -> None:
    """The node left the quorate membership: its LRM can no longer renew its agent
    lock; if its watchdog is armed, it resets the node 60 s after the last feed."""
    sim, t = manager.sim, manager.sim.now
    node.lrm.lock_renewed = node.lrm.watchdog_fed = last_round(node, t, manager.cadence)
    if not node.alive:
        return
    armed, why = lrm_armed(manager, node, t)
    if armed:
        node.lrm.mode = "lost_agent_lock"
        reset_at = node.lrm.watchdog_fed + WATCHDOG_TIMEOUT
        sim.narrate(EventKind.WATCHDOG_ARMED, f"{node.name} has no quorum and {why}: its LRM "
                    "cannot renew its agent lock and stops feeding the watchdog, which "
                    f"resets the node at {clock_time(reset_at)} (60 s after the last "
                    "feed)", node.name)
        manager.schedule("reset", node.name, reset_at, lambda: watchdog(manager, node))
    else:
        sim.narrate(EventKind.NO_WATCHDOG, f"{node.name} has no quorum, but {why}: the "
                    "watchdog is not armed, so it keeps running; its guests cannot be "
                    "managed", node.name)


def joined(manager: HAManager, node: SimNode) -> None:
    """The node is quorate again. Its LRM takes its lock back, unless the master has
    begun fencing it: then it stays without its lock and the watchdog resets it."""
    sim = manager.sim
    fenced = manager.services.on_node(node.name, (HAState.FENCE,))
    if node.ha_state is NodeHAState.FENCE or fenced:
        pending = manager.timer("reset", node.name)
        then = (f"its watchdog still resets it at {clock_time(pending.time)}"
                if pending is not None else "its services are recovered elsewhere")
        sim.narrate(EventKind.FENCE_PENDING, f"{node.name} is back in the quorate membership, "
                    "but the CRM master has begun fencing it and nothing backs out: its "
                    f"LRM sees the fence request and does not take its lock back; {then}",
                    node.name)
        return
    if manager.timer("reset", node.name) is not None:
        sim.narrate(EventKind.WATCHDOG_DISARMED, f"{node.name} regained quorum before its "
                    "watchdog expired: its LRM feeds it again, no reset", node.name)
        manager.cancel("reset", node.name)
    node.lrm.lock_renewed = node.lrm.watchdog_fed = sim.now
    if node.maintenance:
        node.lrm.mode = "maintenance"
    elif node.lrm.mode in ("lost_agent_lock", "maintenance") or manager.services.on_node(
            node.name, (*ACTIVE_STATES, HAState.FREEZE)):
        node.lrm.mode = "active"
    for guest in manager.services.on_node(node.name, (*ACTIVE_STATES, HAState.FREEZE)):
        assert guest.ha is not None
        if guest.ha.state is HAState.FREEZE:  # back from a reboot: run them here
            guest.ha.state = HAState.STARTED
        manager.services.apply(guest)


def watchdog(manager: HAManager, node: SimNode) -> None:
    """The node's watchdog expires (its LRM stopped feeding it): the node resets, and
    boots again (real hardware) or stays off (pve-ha-manager's test harness)."""
    manager.cancel("reset", node.name)
    if not node.alive or node.lrm.mode != "lost_agent_lock":
        return
    manager.sim.narrate(EventKind.WATCHDOG_RESET, f"{node.name}: watchdog expired "
                        f"{WATCHDOG_TIMEOUT:.0f} s after the LRM's last feed: the node "
                        "resets (self-fencing); its guests are gone", node.name)
    manager.node_down(node)
    if manager.reset_reboots:  # a reset, not a power-off: it boots again
        node.powered = True
        manager.schedule("boot", node.name, manager.sim.now + manager.node_boot,
                         lambda: manager.node_up(node))
    else:
        node.powered = False


def restart_lrm(manager: HAManager, node: SimNode) -> None:
    """`systemctl restart pve-ha-lrm`: the LRM asks for its services to freeze (they
    keep running), exits once they are frozen, and the new LRM unfreezes them when
    it is active again (LRM.pm's shutdown_request without a node shutdown)."""
    sim = manager.sim
    node.lrm.mode = "restart"
    sim.narrate(EventKind.LRM_RESTART, f"{node.name}'s LRM restarts: the CRM freezes its HA "
                "services (they keep running) until the new LRM is active", node.name)

    def crm_round() -> None:
        for guest in manager.services.on_node(node.name, (
                HAState.STARTED, HAState.STOPPED, HAState.REQUEST_STOP)):
            assert guest.ha is not None
            guest.ha.state = HAState.FREEZE
            sim.touch(guest.id)
        sim.at(next_round(node, sim.now, manager.cadence), lrm_back)

    def lrm_back() -> None:
        if node.lrm.mode == "restart":
            node.lrm.mode = "active"
            node.lrm.lock_renewed = node.lrm.watchdog_fed = sim.now
        manager.on_next_crm_round(unfreeze)

    def unfreeze() -> None:
        for guest in manager.services.on_node(node.name, (HAState.FREEZE,)):
            assert guest.ha is not None
            guest.ha.state = (HAState.STARTED if guest.ha.request is HARequest.STARTED
                              else HAState.REQUEST_STOP)
            sim.touch(guest.id)
            manager.services.apply(guest)
    manager.on_next_crm_round(crm_round)


def request_maintenance(manager: HAManager, node: SimNode) -> None:
    """`ha-manager crm-command node-maintenance`: the CRM passes the request on at
    its next round, the node's LRM switches mode at its own, and the CRM acts on the
    round after (Manager.pm's update_crm_commands, LRM.pm's maintenance mode)."""
    def lrm_round() -> None:
        if node.alive and manager.quorate[node.name]:
            node.lrm.mode = "maintenance" if node.maintenance else "active"

    def crm_round() -> None:
        manager.sim.at(next_round(node, manager.sim.now, manager.cadence), lrm_round)
    manager.on_next_crm_round(crm_round)
