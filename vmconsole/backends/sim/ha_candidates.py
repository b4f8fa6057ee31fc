"""Where an HA service may run, as the CRM sees it: its group's or node affinity's
priorities (its own, or those of a service it must stay with), every node scored for it
as Manager.pm's select_service_node scores (`vmconsole.ha.rules`), with the reason a
node is left out (offline, not online for the CRM, in maintenance, short of memory),
and the nodes the CRM counts online. `ha_services.Services` is built on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmconsole.backends.sim import ha_rules, ha_usage, migration
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.state import ACTIVE_STATES, MOVING_STATES, SimGuest, SimNode
from vmconsole.ha import rules
from vmconsole.ha.rules import Candidate, NodeView, node_priorities
from vmconsole.model import HAState, NodeHAState

if TYPE_CHECKING:
    from vmconsole.backends.sim.ha import HAManager


class ServiceNodes:
    """The nodes each service may run on, for one simulated cluster's CRM."""

    sim: Sim
    manager: HAManager

    def preferences(self, guest: SimGuest) -> tuple[dict[str, int], bool, bool]:
        """(node -> priority, restricted, nofailback) of the service's group or affinity.
        A service without either takes the node affinity of a service it must stay
        with (Rules.pm's create_implicit_positive_resource_affinity_node_affinity_rules),
        so the rules do not pull the group apart and together again, round after round."""
        owner = self._affinity_owner(guest)
        ha = owner.ha
        assert ha is not None
        if ha.group and ha.group in self.sim.groups:
            group = self.sim.groups[ha.group]
            return group.priorities, group.restricted, group.nofailback or not ha.failback
        if ha.nodes:
            return node_priorities(ha.nodes), False, False
        return {}, False, True

    def failback(self, guest: SimGuest, node: str) -> str:
        """Why the CRM would move the service away from `node` at its next round if it
        were migrated there ("" when it would stay): its group or node affinity prefers
        other online nodes and fails back (no `nofailback`), as `ha_placement` moves
        it, after Manager.pm's next_state_started: "HA group prefer-pve2 prefers pve2:
        the CRM will move it back"."""
        priorities, restricted, nofailback = self.preferences(guest)
        if nofailback and not (restricted and node not in priorities):
            return ""
        online = set(self.online())
        top = max((p for n, p in priorities.items() if n in online), default=None)
        if top is None or priorities.get(node, -1) >= top:
            return ""
        preferred = ", ".join(n for n in self.online() if priorities.get(n) == top)
        owner = self._affinity_owner(guest).ha
        assert owner is not None
        rule = f"HA group {owner.group}" if owner.group in self.sim.groups else (
            "its HA node affinity")
        return f"{rule} prefers {preferred}: the CRM will move it back"

    def _affinity_owner(self, guest: SimGuest) -> SimGuest:
        """The service whose group or node affinity applies to this one: itself, or
        the first service it must stay with that has one."""
        ha = guest.ha
        assert ha is not None
        if (ha.group and ha.group in self.sim.groups) or ha.nodes:
            return guest
        for partner in ha_rules.partners(self.sim, guest)[0]:
            assert partner.ha is not None
            if (partner.ha.group and partner.ha.group in self.sim.groups) or partner.ha.nodes:
                return partner
        return guest

    def candidates(self, guest: SimGuest, exclude: tuple[str, ...] = ()) -> list[Candidate]:
        """Every node as Manager.pm's select_service_node sees it for this service
        (`vmconsole.ha.rules.select_service_node`), best first; the first scored one is
        chosen."""
        sim = self.sim
        priorities, restricted, _ = self.preferences(guest)
        together, apart = ha_rules.affinity(sim, guest)
        services: dict[str, int] = {}  # one pass: a cluster may hold 10,000 guests
        for other in sim.guests.values():
            if other.ha is not None and other.ha.state is HAState.REQUEST_START_BALANCE:
                target = other.ha.target or ""
                services[target] = services.get(target, 0) + 1
            elif other.ha is not None and other.ha.state in ACTIVE_STATES:
                services[other.node] = services.get(other.node, 0) + 1
                # Usage.pm's add_service_usage: a moving service counts on its target
                # too, so the moves of one round spread over the nodes
                if other.ha.state in MOVING_STATES and other.ha.target not in (None, other.node):
                    target = other.ha.target or ""
                    services[target] = services.get(target, 0) + 1
        mode = self.manager.crs.mode
        usage = {} if mode == "basic" else ha_usage.node_usage(sim, self.online(), mode)
        views = [NodeView(name, node.index, self._unusable(node, guest, name in exclude),
                          services.get(name, 0),
                          (node.maxmem - migration.free_memory(sim, name)) / node.maxmem,
                          usage.get(name))
                 for name, node in sorted(sim.nodes.items(), key=lambda kv: kv[1].index)]
        owner = self._affinity_owner(guest)
        assert owner.ha is not None
        group = owner.ha.group or "affinity"
        if owner is not guest:
            group = f"{group} (the node affinity of {owner.vmid}, kept together with it)"
        return rules.select_service_node(views, rules.Preferences(priorities, restricted,
                                                                  group), together, apart,
                                         ha_usage.scheduler(sim, guest, mode))

    def _forbidden_here(self, guest: SimGuest) -> str:
        """Why the service's rules (node and resource affinity) forbid its own node,
        online for the CRM ("" if they allow it, or the node is not online: that is
        the fence's business)."""
        if self._unusable(self.sim.nodes[guest.node], guest, False) is not None:
            return ""
        here = next((c for c in self.candidates(guest) if c.node == guest.node), None)
        return here.reason if here is not None and here.score is None else ""

    def online(self) -> list[str]:
        """The nodes the CRM counts online (`_online`), in the cluster's order."""
        return [name for name, node in self.sim.nodes.items() if self._online(node)]

    def _online(self, node: SimNode) -> bool:
        """Whether the CRM counts `node` online (Manager.pm's online_node_usage: the
        nodes the static and dynamic modes score): alive, quorate, `online` for the
        master, not in maintenance."""
        return (node.alive and self.manager.quorate.get(node.name, False)
                and node.ha_state is NodeHAState.ONLINE and not node.maintenance)

    def _unusable(self, node: SimNode, guest: SimGuest, excluded: bool) -> str | None:
        if excluded:
            return "the node it leaves"
        if not node.alive:
            return "offline"
        if not self.manager.quorate.get(node.name, False) or (
                node.ha_state is not NodeHAState.ONLINE):
            return (f"node {node.ha_state} for the CRM" if node.ha_state is not None
                    else "not yet seen by a CRM master")
        if node.maintenance:
            return "in maintenance"
        free = migration.free_memory(self.sim, node.name)
        if free < guest.maxmem:
            return (f"memory: {free / 2**30:.1f} GiB free, it needs "
                    f"{guest.maxmem / 2**30:.1f} GiB")
        return None
