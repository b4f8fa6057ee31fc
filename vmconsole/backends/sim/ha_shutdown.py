"""An admin's node shutdown and reboot under Proxmox's HA shutdown policies (LRM.pm's
shutdown_request; datacenter.cfg `ha: shutdown_policy`): what happens to the node's HA
services, and when the node leaves the cluster (its guests off, then its LRM and CRM
exit, each on its own round)."""

from __future__ import annotations

from functools import partial

from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim.ha import HAManager
from vmconsole.backends.sim.ha_placement import services_text
from vmconsole.backends.sim.power import off_after
from vmconsole.backends.sim.state import Instance, SimNode
from vmconsole.backends.sim.timing import (
    HA_STOP_TIMEOUT,
    LOCK_LEASE,
    last_round,
    next_crm_round,
    next_round,
)
from vmconsole.model import HAState


def shutdown(manager: HAManager, node: SimNode, reboot: bool) -> None:
    """An admin's shutdown or reboot of a node, under the cluster's HA shutdown
    policy (LRM.pm's shutdown_request; datacenter.cfg `ha: shutdown_policy`):
    - freeze (and conditional on a reboot): the HA services freeze (stopped, kept
      on the node, started again when it is back);
    - failover (and conditional on a shutdown): the LRM stops them and releases its
      agent lock: once the fence delay has passed they are recovered elsewhere,
      at once, with no wait for a lock lease;
    - migrate: the LRM goes into maintenance, the CRM migrates them away first, and
      back when the node returns.
    Every other guest shuts down (stopped after 180 s) before the node goes down."""
    sim = manager.sim
    policy = manager.shutdown_policy
    what = "reboots" if reboot else "shuts down"
    if node.maintenance:  # LRM.pm: manual maintenance overrides every policy
        sim.narrate(EventKind.NODE_SHUTDOWN, f"{node.name} {what}: it is in maintenance, so the "
                    f"shutdown policy ({policy}) is ignored; its LRM stays in maintenance "
                    "and the node goes down once its HA services have left", node.name)
        _wait_drained(manager, node, reboot)
        return
    if policy == "migrate":
        node.lrm.mode = "maintenance"
        moving = manager.services.on_node(node.name, (HAState.STARTED,))
        sim.narrate(EventKind.NODE_SHUTDOWN, f"{node.name} {what} (shutdown policy migrate): its "
                    f"LRM enters maintenance and waits until the CRM has migrated its "
                    f"{services_text(len(moving))} away", node.name)
        _wait_drained(manager, node, reboot)
        return
    freeze = policy == "freeze" or (policy == "conditional" and reboot)
    services = manager.services.on_node(node.name, (HAState.STARTED,))
    if freeze:
        for guest in services:
            assert guest.ha is not None
            guest.ha.state = HAState.FREEZE
            sim.touch(guest.id)
        why = (f"its {services_text(len(services))} freeze (stopped, kept on "
               f"{node.name}, started again when it is back)")
    else:
        node.lrm.mode = "shutdown"
        why = (f"its LRM stops its {services_text(len(services))} and releases its agent "
               "lock: they are recovered elsewhere once the fence delay has passed")
    last_off = _guests_off(manager, node)
    sim.narrate(EventKind.NODE_REBOOT if reboot else EventKind.NODE_SHUTDOWN,
                f"{node.name} {what} (shutdown policy {policy}): {why}; its guests shut "
                f"down first ({last_off - sim.now:.0f} s), then its LRM and CRM exit",
                node.name)
    manager.schedule("down", node.name, _leaves_at(manager, node, last_off),
                     lambda: _going_down(manager, node, reboot))



def _leaves_at(manager: HAManager, node: SimNode, last_off: float) -> float:
    """When a shutting-down node leaves the cluster: its LRM exits on its first
    round with no service left running (`last_off` itself when that is the round that
    found it drained), then its CRM (stopped after the LRM, as systemd orders
    pve-ha-crm and pve-ha-lrm) exits on its own next round, then the OS goes down in
    the manager's `os_shutdown` s (LRM.pm and CRM.pm check their shutdown request once
    per round)."""
    lrm_exit = last_round(node, last_off, manager.cadence)
    if last_off - lrm_exit > 1e-6:  # not this very round (a drained node's LRM exits in it)
        lrm_exit += manager.cadence.length
    return next_crm_round(node, lrm_exit, manager.cadence) + manager.os_shutdown



def _guests_off(manager: HAManager, node: SimNode) -> float:
    """pve-guests shuts every guest down, and stops it after the timeout; returns
    when the last one is off."""
    sim, now = manager.sim, manager.sim.now
    last_off = now
    for guest_id, inst in list(node.instances.items()):
        if inst.incoming:
            continue
        off = now + min(off_after(sim.guests[guest_id], inst, now), HA_STOP_TIMEOUT)
        last_off = max(last_off, off)
        sim.at(off, partial(_guest_off, manager, guest_id, node, inst))
    return last_off



def _wait_drained(manager: HAManager, node: SimNode, reboot: bool) -> None:
    """The `migrate` policy: the node goes down once no HA service is left on it."""
    if not node.alive:
        return
    if manager.services.on_node(node.name) or manager.sim.migrating_from(node.name):
        manager.schedule("drain", node.name, next_round(node, manager.sim.now, manager.cadence),
                         lambda: _wait_drained(manager, node, reboot))
        return
    manager.cancel("drain", node.name)
    last_off = _guests_off(manager, node)
    manager.schedule("down", node.name, _leaves_at(manager, node, last_off),
                     lambda: _going_down(manager, node, reboot))



def _guest_off(manager: HAManager, guest_id: str, node: SimNode, inst: Instance) -> None:
    if node.instances.get(guest_id) is inst:
        manager.sim.end_instance(guest_id, node.name)



def _going_down(manager: HAManager, node: SimNode, reboot: bool) -> None:
    manager.cancel("down", node.name)
    if not node.alive:
        return
    manager.released_master = node.name == manager.master
    manager.node_down(node)
    # A clean LRM exit releases its agent lock in every mode (LRM.pm: all services
    # stopped, frozen or migrated away): a fence of the node then has no lease to wait for
    node.lrm.lock_renewed = manager.sim.now - LOCK_LEASE
    if reboot:
        manager.schedule("boot", node.name, manager.sim.now + manager.node_boot,
                         lambda: manager.node_up(node))
    else:
        node.powered = False

