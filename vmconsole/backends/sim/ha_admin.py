"""What an admin does with HA: add, change and remove resources, start or stop an
HA-managed guest through the HA manager, and put a node into maintenance."""

from __future__ import annotations

from vmconsole.backends.base import Conflict, InvalidInput, NotSupported
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.sim import ha_disarm, ha_lrm, ha_rules, ha_shutdown, migration
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.guards import (
    ensure_cluster_quorate,
    ensure_free,
    ensure_quorate,
    label,
)
from vmconsole.backends.sim.ha import HAManager
from vmconsole.backends.sim.ha_rules import ResourceAffinity, sid
from vmconsole.backends.sim.state import HAGroup, HAResource, SimGuest, SimNode
from vmconsole.backends.sim.tasks import TaskRecord
from vmconsole.ha import rules
from vmconsole.model import HARequest, HAState

MAX_TRIES = 10  # Proxmox's range for max_restart and max_relocate


def _validate(sim: Sim, settings: HASettings) -> None:
    problems: dict[str, str] = {}
    if settings.group is not None and settings.group not in sim.groups:
        known = ", ".join(sorted(sim.groups)) or "none"
        problems["group"] = f"no HA group '{settings.group}' (groups: {known})"
    if settings.group is not None and settings.nodes:
        problems["nodes"] = "give a group or a node affinity, not both"
    nodes = rules.node_list_problem(settings.nodes, sim.nodes)
    if nodes is not None:
        problems["nodes"] = nodes
    for name in ("max_restart", "max_relocate"):
        if not 0 <= getattr(settings, name) <= MAX_TRIES:
            problems[name] = f"must be between 0 and {MAX_TRIES}"
    if problems:
        raise InvalidInput("HA settings refused: " + "; ".join(
            f"{k}: {v}" for k, v in problems.items()), problems)


def ha_set(sim: Sim, manager: HAManager, guest: SimGuest, settings: HASettings) -> TaskRecord:
    if guest.template:
        raise NotSupported(f"{label(guest)} is a template: templates cannot be HA resources")
    _validate(sim, settings)
    ensure_cluster_quorate(sim)
    task = sim.new_task("ha", guest.id, guest.node)
    ha = guest.ha
    if ha is None:
        running = sim.running_on_own_node(guest) is not None
        ha = guest.ha = HAResource(settings.request,
                                   HAState.STARTED if running else HAState.STOPPED)
        task.log.append(f"{sid(guest)} added as an HA resource")
    else:
        task.log.append(f"{sid(guest)} HA settings changed")
    ha.group, ha.nodes = settings.group, tuple(settings.nodes)
    ha.max_restart, ha.max_relocate = settings.max_restart, settings.max_relocate
    where = (f"group {settings.group}" if settings.group else
             f"nodes {', '.join(settings.nodes)}" if settings.nodes else "any node")
    task.log.append(f"requested state {settings.request}, {where}, max_restart "
                    f"{settings.max_restart}, max_relocate {settings.max_relocate}")
    task.log.append("the CRM master applies it on its next round (every 10 s)")
    manager.services.request(guest, settings.request)
    sim.touch(guest.id)
    sim.narrate(EventKind.HA_REQUEST,
                f"{sid(guest)} ({guest.name}): HA request '{settings.request}'",
                guest.node, guest.id)
    task.finish(sim.now)
    return task


def ha_remove(sim: Sim, manager: HAManager, guest: SimGuest) -> TaskRecord:
    if guest.ha is None:
        raise Conflict(f"{label(guest)} is not an HA resource")
    ensure_cluster_quorate(sim)
    task = sim.new_task("ha-remove", guest.id, guest.node)
    guest.ha = None
    sim.nodes[guest.node].lrm.service_left(sim.now)
    sim.touch(guest.id)
    task.log.append(f"{sid(guest)} removed from HA: it keeps its current state, and the HA "
                    "manager no longer starts, recovers or fences it")
    task.finish(sim.now)
    return task


def ha_power(sim: Sim, manager: HAManager, guest: SimGuest, request: HARequest,
             operation: str) -> TaskRecord:
    """A start or stop of an HA-managed guest is a request to the HA manager, accepted
    by the quorate side even for a service on a lost node."""
    ensure_cluster_quorate(sim)
    task = sim.new_task(operation, guest.id, guest.node, via_ha=True)
    verb = "start" if request is HARequest.STARTED else "stop"
    task.log.append(f"Requesting HA {verb} for {label(guest)}: the CRM and the LRM of "
                    f"{guest.node} act on their next rounds (up to 20 s)")
    manager.services.request(guest, request)
    sim.touch(guest.id)
    task.finish(sim.now)
    return task


def ha_move(sim: Sim, manager: HAManager, guest: SimGuest, node: str,
            relocate: bool) -> TaskRecord:
    """`qm migrate` of an HA-managed guest, or `ha-manager migrate|relocate`: a request
    the CRM acts on at its next round, the LRM at its own (not at the API call)."""
    if node not in sim.nodes:
        raise InvalidInput(f"no node '{node}'", {"node": f"no node '{node}'"})
    ensure_free(guest, sim)  # qemu-server checks the config lock before asking HA
    ensure_cluster_quorate(sim)
    target = next(t for t in migration.targets(sim, guest) if t.node == node)
    if not target.allowed and node != guest.node:
        raise InvalidInput(f"cannot move {label(guest)} to {node}: {target.reason}",
                           {"node": target.reason})
    verb = "relocate" if relocate else "migrate"
    task = sim.new_task(f"ha{verb}", guest.id, guest.node)
    task.log.append(f"Requesting HA {'relocation' if relocate else 'migration'} for "
                    f"{label(guest)} to node {node}: the CRM acts on its next round, the LRM "
                    f"of {guest.node} on its own")
    manager.services.command(guest, verb, node)
    task.finish(sim.now)
    return task


def set_maintenance(sim: Sim, manager: HAManager, node: SimNode, enabled: bool) -> None:
    """Maintenance mode (`ha-manager crm-command node-maintenance enable|disable`): a
    request the CRM and the node's LRM act on at their next rounds; then the HA manager
    drains the node's HA services by migration, and brings them back when it ends."""
    if node.maintenance == enabled:
        raise Conflict(f"{node.name} is {'already' if enabled else 'not'} in maintenance")
    ensure_quorate(sim, node.name)
    node.maintenance = enabled
    sim.touch_node(node)
    sim.narrate(EventKind.MAINTENANCE_REQUEST, f"maintenance of {node.name} "
                f"{'requested' if enabled else 'end requested'}: the CRM passes it to the "
                f"LRM of {node.name} on its next round, and acts on the round after",
                node.name)
    ha_lrm.request_maintenance(manager, node)


def status(sim: Sim, manager: HAManager) -> list[str]:
    """`ha-manager status` as lines: quorum, master, each LRM, fencing, each service."""
    quorate = any(manager.quorate.values())
    lines = [f"quorum {'OK' if quorate else 'No quorum'}"]
    lines.append(f"master {manager.master} (active)" if manager.master else
                 "master none (the manager lock is free or its lease runs)")
    for node in sim.nodes.values():
        lines.append(f"lrm {node.name} ({node.lrm.mode if node.alive else 'offline'}; "
                     f"node {node.ha_state or 'not yet seen by a master'})")
    disarm = f" (disarmed: {manager.disarm})" if manager.disarm else ""
    lines.append(f"fencing: {ha_disarm.fencing(manager)}{disarm}")
    for guest in sim.guests.values():
        if guest.ha is not None:
            lines.append(f"service {sid(guest)} ({guest.node}, {guest.ha.state})")
    return lines


def skip_rounds(sim: Sim, manager: HAManager, what: str, rounds: int) -> None:
    """The test harness's `skip-round crm|lrm N`: the CRM master, or every LRM, misses
    N rounds (a blocked cluster file system, an overloaded node)."""
    if what not in ("crm", "lrm") or not 1 <= rounds <= 100:
        raise InvalidInput("skip-round takes crm or lrm and 1 to 100 rounds",
                           {"what": what, "rounds": str(rounds)})
    if what == "crm":
        manager.skip_crm += rounds
    else:
        manager.lrm_paused_until = (max(manager.lrm_paused_until, sim.now)
                                    + rounds * manager.cadence.length)
    sim.narrate(EventKind.SKIPPED_ROUND, f"the {what.upper()}{' master' if what == 'crm' else 's'} "
                f"will skip {rounds} round{'s' if rounds > 1 else ''}")


def set_lock(sim: Sim, guest: SimGuest, lock: str | None) -> TaskRecord:
    """`qm set --lock NAME` (an admin's or a backup's lock) or `qm unlock` (None)."""
    ensure_quorate(sim, guest.node)
    if lock is None and guest.lock is None:
        raise Conflict(f"{label(guest)} is not locked")
    if lock is not None:
        ensure_free(guest, sim)
    task = sim.new_task("unlock" if lock is None else "lock", guest.id, guest.node)
    task.log.append(f"{label(guest)}: " + (f"lock '{guest.lock}' removed" if lock is None
                                          else f"locked '{lock}'"))
    guest.lock = lock
    if lock is None:
        guest.busy = None
    sim.touch(guest.id)
    task.finish(sim.now)
    return task


def rule_set(sim: Sim, manager: HAManager, rule: ResourceAffinity) -> None:
    """Add or replace a resource-affinity rule (`ha-manager rules add resource-affinity
    NAME --resources ... --affinity positive|negative`); the CRM applies it on its next
    rounds, moving services that break it."""
    problems = ha_rules.validate(sim, rule)
    if problems:
        raise InvalidInput("rule refused: " + "; ".join(
            f"{k}: {v}" for k, v in problems.items()), problems)
    ensure_cluster_quorate(sim)
    sim.affinity_rules = [r for r in sim.affinity_rules if r.name != rule.name] + [rule]
    sim.narrate(EventKind.HA_REQUEST, f"rule {rule.name}: keep {', '.join(rule.resources)} "
                f"{'together' if rule.positive else 'apart'}")


def rule_remove(sim: Sim, name: str) -> None:
    if not any(r.name == name for r in sim.affinity_rules):
        raise Conflict(f"no rule '{name}'")
    ensure_cluster_quorate(sim)
    sim.affinity_rules = [r for r in sim.affinity_rules if r.name != name]
    sim.narrate(EventKind.HA_REQUEST, f"rule {name} removed")


def group_set(sim: Sim, group: HAGroup) -> None:
    """Add or change an HA group (a node-affinity rule in PVE 9 terms: its nodes with
    priorities; restricted = strict)."""
    problems: dict[str, str] = {}
    unknown = [n for n in group.priorities if n not in sim.nodes]
    if unknown or not group.priorities:
        problems["nodes"] = f"no node {', '.join(unknown)}" if unknown else "name a node"
    if not group.name or not group.name.replace("-", "").replace("_", "").isalnum():
        problems["name"] = "letters, digits, - and _ only"
    if problems:
        raise InvalidInput("group refused: " + "; ".join(
            f"{k}: {v}" for k, v in problems.items()), problems)
    ensure_cluster_quorate(sim)
    sim.groups[group.name] = group
    sim.narrate(EventKind.HA_REQUEST, f"HA group {group.name}: " + ", ".join(
        f"{n}:{p}" for n, p in group.priorities.items()) +
        (" (restricted)" if group.restricted else "") +
        (" (nofailback)" if group.nofailback else ""))


SHUTDOWN_POLICIES = ("conditional", "freeze", "failover", "migrate")


def shutdown_node(sim: Sim, manager: HAManager, node: SimNode, reboot: bool) -> None:
    """Shut down or reboot a node the way an admin does (`shutdown`, `reboot`): its HA
    services follow the cluster's shutdown policy (see `HAManager.shutdown`)."""
    if not node.alive:
        raise Conflict(f"{node.name} is not running")
    if ("down", node.name) in manager.pending() or ("drain", node.name) in manager.pending():
        raise Conflict(f"{node.name} is already going down")
    ensure_quorate(sim, node.name)
    ha_shutdown.shutdown(manager, node, reboot)


def set_shutdown_policy(sim: Sim, manager: HAManager, policy: str) -> None:
    """datacenter.cfg `ha: shutdown_policy=...` (Proxmox's default: conditional)."""
    if policy not in SHUTDOWN_POLICIES:
        raise InvalidInput(f"unknown shutdown policy '{policy}' (one of "
                           f"{', '.join(SHUTDOWN_POLICIES)})", {"policy": "unknown"})
    ensure_cluster_quorate(sim)
    manager.shutdown_policy = policy
    sim.narrate(EventKind.HA_REQUEST, f"HA shutdown policy set to {policy}")
