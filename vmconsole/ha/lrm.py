"""The LRM's part of the HA manager (pve-ha-manager's LRM.pm, one for the whole cluster
here, acting through each node's libvirtd): keep each service as its request says, and
remove what a fenced node still defines once it is back.

- request `started`, found stopped on its online node and running nowhere: start it
  (libvirt's create); a start that fails `max_restart` + 1 times puts it in `error`;
- request `stopped` or `disabled`, found running: shut it down (ACPI), asked again once
  a minute while it runs;
- a node fenced under a service comes back still defining it (its power was cut, its
  definition stayed): that stopped copy is undefined, as Proxmox keeps one config file
  per guest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import libvirt

from vmconsole.backends.base import BackendError
from vmconsole.backends.libvirt import LibvirtBackend
from vmconsole.backends.libvirt.domainxml import parse_domain
from vmconsole.ha.journal import Journal
from vmconsole.ha.services import NodeTrack, Service, copies, where_it_runs
from vmconsole.model import Guest, GuestKind, HARequest, HAState, Inventory, NodeHAState

#: The LRM's actions: operation -> (virDomain method, the verb for people).
_ACTIONS = {"hastart": ("create", "start"), "hastop": ("shutdown", "shut down")}
#: A guest asked to shut down (ACPI) is asked again only after this long.
SHUTDOWN_REPEAT_S = 60.0


def _undefine(uuid: str, conn: libvirt.virConnect) -> None:
    conn.lookupByUUIDString(uuid).undefine()



def _still_asked(uuid: str, request: HARequest, conn: libvirt.virConnect) -> bool:
    """Whether the domain's HA mark, read afresh, still makes `request`. The round's
    inventory caches definitions until a lifecycle event, and a console's removal from
    HA is none: a round that read a guest stopped with its old mark started it again,
    and the lab's restore over it failed (a lab test on a loaded machine). Proxmox's LRM
    likewise acts on the service's current configuration."""
    ha = parse_domain(conn.lookupByUUIDString(uuid).XMLDesc(0)).meta.ha
    return ha is not None and ha.request is request


class LocalResources:
    """Acts on the services of online nodes; every action is a task and a decision."""

    def __init__(self, backend: LibvirtBackend, journal: Journal,
                 clock: Callable[[], float] = time.time) -> None:
        self.backend, self.journal, self.clock = backend, journal, clock

    def keep_requests(self, inv: Inventory, services: dict[str, Service],
                      nodes: dict[str, NodeTrack]) -> None:
        """Start or shut down each service of an online node as its request says."""
        found = copies(inv.guests)
        for svc in services.values():
            node = nodes.get(svc.node)
            if node is None or node.state is not NodeHAState.ONLINE or not node.online:
                continue
            mine = next((g for g in found.get(svc.uuid, []) if g.node == svc.node), None)
            if mine is None:
                continue
            if svc.state is HAState.STARTED and not mine.running and (
                    where_it_runs(found[svc.uuid]) is None):
                self._act(svc, mine, "hastart")
            elif svc.state in (HAState.STOPPED, HAState.DISABLED) and mine.running and (
                    self.clock() - svc.stop_asked > SHUTDOWN_REPEAT_S):
                svc.stop_asked = self.clock()
                self._act(svc, mine, "hastop")

    def _act(self, svc: Service, guest: Guest, operation: str) -> None:
        """The LRM's start (libvirt's create) or shutdown (ACPI) of a service, if its
        domain's HA mark still asks for it (`_still_asked`)."""
        method, verb = _ACTIONS[operation]
        if svc.failures > svc.ha.max_restart:
            return
        host = self.backend.host_named(guest.node, containers=guest.kind is GuestKind.CT)
        task = None
        try:
            if not host.call(partial(_still_asked, svc.uuid, svc.ha.request),
                             f"reading {svc.name}"):
                return
            task = self.journal.task(operation, svc.id, guest.node,
                                     f"{verb} {svc.name} on {guest.node} (request "
                                     f"{svc.ha.request.value})")
            host.call(lambda c: getattr(c.lookupByUUIDString(svc.uuid), method)(),
                      f"{verb} {svc.name}")
        except BackendError as exc:
            svc.failures += 1
            if task is not None:
                self.journal.finish(task, False, str(exc))
            if svc.failures > svc.ha.max_restart:
                svc.state, svc.why = HAState.ERROR, f"{verb} failed: {exc}"
            self.journal.decide("error" if svc.state is HAState.ERROR else "start_failed",
                                f"{verb} of {svc.name} on {guest.node} failed "
                                f"({svc.failures} of {svc.ha.max_restart + 1} tries): {exc}",
                                guest.node, svc.id, result=f"error: {exc}")
            return
        svc.failures = 0
        self.journal.finish(task, True, "done")
        self.journal.decide(operation, f"{verb} {svc.name} on {guest.node}: its request is "
                            f"{svc.ha.request.value}", guest.node, svc.id, result="ok")

    def remove_stale_copies(self, inv: Inventory, services: dict[str, Service],
                            nodes: dict[str, NodeTrack]) -> None:
        """A fenced node back online still defines what was recovered elsewhere: that
        definition goes (one definition per guest, as Proxmox keeps one config file)."""
        for uuid, rows in copies(inv.guests).items():
            svc = services.get(uuid)
            if svc is None or len(rows) < 2:
                continue
            for guest in rows:
                if (guest.node in svc.fenced_from and guest.node != svc.node
                        and not guest.running and nodes[guest.node].online):
                    host = self.backend.host_named(guest.node,
                                                   containers=guest.kind is GuestKind.CT)
                    try:
                        host.call(partial(_undefine, uuid),
                                  f"removing {svc.name}'s stale definition")
                    except BackendError:
                        continue
                    svc.fenced_from.discard(guest.node)
                    self.journal.decide("stale_removed", f"{guest.node} is back: removed its "
                                        f"stale definition of {svc.name}, which runs on "
                                        f"{svc.node} since its recovery", guest.node, svc.id)
