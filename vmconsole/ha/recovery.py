"""Recovery of a fenced node's HA services (Manager.pm's next_state_recovery), for the
libvirt cluster's HA manager (`manager.py`): each round, a service in `recovery` is
adopted where a copy already runs, or, once the lock lease since its node's loss has
passed, defined from the manager's copy of its XML on the node `rules` picks and
started there. A start that fails marks that node (`Service.failed_nodes`) and the next
round takes the best node not marked; when every node has failed, all are tried again.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from functools import partial

import libvirt

from vmconsole.backends.base import BackendError
from vmconsole.backends.libvirt import LibvirtBackend
from vmconsole.config import HAManagerConfig
from vmconsole.ha import rules
from vmconsole.ha.journal import Journal
from vmconsole.ha.placement import node_views, scheduler
from vmconsole.ha.services import ConfigStore, NodeTrack, Service, copies, where_it_runs
from vmconsole.model import GuestKind, HAState, Inventory
from vmconsole.wallclock import clock_time

#: How long a recovery's define and start may take on one node (at least the backend's
#: timeout); one that fails or takes longer sends the next round to another node.
RECOVERY_START_S = 30.0


def _define_and_start(xml: str, conn: libvirt.virConnect) -> None:
    """Define the domain on `conn`'s host and start it; a start that fails takes the
    definition away again (one definition per guest, as Proxmox keeps one config)."""
    dom = conn.defineXML(xml)
    try:
        dom.create()
    except libvirt.libvirtError:
        with contextlib.suppress(libvirt.libvirtError):
            dom.undefine()
        raise


class Recovery:
    """The recovery step of one manager, over its node and service tables (shared with
    it, changed in place)."""

    def __init__(self, backend: LibvirtBackend, cfg: HAManagerConfig, configs: ConfigStore,
                 journal: Journal, nodes: dict[str, NodeTrack],
                 services: dict[str, Service]) -> None:
        self.backend, self.cfg, self.configs, self.journal = backend, cfg, configs, journal
        self.nodes, self.services = nodes, services

    def recover(self, svc: Service, inv: Inventory, now: float) -> None:
        """One round of `svc` in `recovery`: adopt a copy found running; else, once the
        lock lease since its node's loss has passed, define and start it on the node
        the rules pick, leaving out the nodes where its start failed (Manager.pm's
        `failed_nodes`); or say once why it waits. Blocking (libvirt calls, up to
        RECOVERY_START_S or the backend's timeout)."""
        running = where_it_runs(copies(inv.guests).get(svc.uuid, []))
        if running is not None:  # never a second copy: a start that outlived its wait
            self._recovered(svc, running.node, f"found running on {running.node}")
            return
        lost = self.nodes[svc.node].unseen_from
        if now < lost + self.cfg.lock_lease:
            until = clock_time(lost + self.cfg.lock_lease)
            self._wait(svc, f"{svc.name} in recovery: waiting for {svc.node}'s lock lease "
                       f"({self.cfg.lock_lease:g} s) until {until}")
            return
        group = svc.ha.group or "affinity"
        try:
            priorities = rules.node_priorities(svc.ha.nodes)
        except ValueError as exc:  # hand-edited metadata: recover it, but say so
            self._wait(svc, f"{svc.name}: its nodes are ignored: {exc}")
            priorities = {}
        views = [replace(v, unusable=f"its recovery failed there: {svc.failed_nodes[v.name]}")
                 if v.unusable is None and v.name in svc.failed_nodes else v
                 for v in node_views(svc, inv, self.services.values(), self.nodes,
                                     self.cfg.crs)]
        candidates = rules.select_service_node(
            views, rules.Preferences(priorities, False, group),
            scheduler=scheduler(svc, inv, self.cfg.crs))
        target = rules.chosen(candidates)
        if target is None and svc.failed_nodes:
            tried = ", ".join(sorted(svc.failed_nodes))
            svc.failed_nodes.clear()
            self._wait(svc, f"{svc.name} in recovery: its recovery failed on every node that "
                       f"can take it ({tried}); each is tried again from the next round")
            return
        if target is None:
            self._wait(svc, f"{svc.name} in recovery: no online node its rules allow can take "
                       f"it now; tried again every round. {rules.explain(candidates)}")
            return
        xml = self.configs.get(svc.uuid)
        if xml is None:
            self._wait(svc, f"{svc.name} cannot be recovered: the manager has no copy of its "
                       "definition (it never saw its node up)")
            return
        task = self.journal.task("harecover", svc.id, target,
                                 f"recovering {svc.name} from {svc.node} on {target}")
        host = self.backend.host_named(target, containers=svc.kind is GuestKind.CT)
        try:
            host.call(partial(_define_and_start, xml), f"starting {svc.name} on {target}",
                      timeout=max(RECOVERY_START_S, self.backend.cfg.timeout))
        except BackendError as exc:
            self.journal.finish(task, False, str(exc))
            svc.failed_nodes[target] = str(exc)
            self._wait(svc, f"{svc.name}: recovery on {target} failed: {exc}; the next round "
                       "tries the best node it has not failed on")
            return
        self.journal.finish(task, True, f"{svc.name} runs on {target}")
        self._recovered(svc, target, f"started. {rules.explain(candidates)}")

    def _recovered(self, svc: Service, target: str, how: str) -> None:
        """`svc` runs on `target`, recovered from its fenced node: started again."""
        source = svc.node
        svc.node, svc.state, svc.why, svc.waiting = target, HAState.STARTED, "", ""
        svc.failed_nodes.clear()
        self.journal.decide("recovered", f"{svc.name} recovered from {source} on {target} "
                            f"and {how}", target, svc.id, result="ok")

    def _wait(self, svc: Service, text: str) -> None:
        """Say why a service waits, once until the reason changes."""
        if svc.waiting != text:
            svc.waiting = svc.why = text
            self.journal.decide("waiting", text, svc.node, svc.id)
