"""Where the CRM puts a service: recovery after a fence, the moves of a running service
on each round (a node in maintenance drained, a rule's move, failback), the return
after maintenance and the start on the best node (pve-ha-manager's Manager.pm:
next_state_recovery, next_state_started, next_state_request_start).

Each placement narrates its candidates (`vmconsole.ha.rules.explain`): every node with
its score in the CRS mode's own terms, or the rule that left it out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmconsole.backends.base import BackendError, MigrationMode
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim import ha_rules, migration
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.state import SimGuest, SimNode
from vmconsole.ha import rules
from vmconsole.model import HARequest, HAState, NodeHAState

if TYPE_CHECKING:
    from vmconsole.backends.sim.ha import HAManager

OPERATIONAL = (NodeHAState.ONLINE, NodeHAState.MAINTENANCE)
# Locks safe to remove once the node was fenced (Manager.pm's fence_recovery_cleanup).
REMOVABLE_LOCKS = ("backup", "mounted", "migrate", "clone", "rollback", "snapshot",
                   "snapshot-delete", "suspending", "suspended")


def services_text(count: int) -> str:
    return f"{count} HA service{'' if count == 1 else 's'}"


class Placement:
    """The CRM master's placement decisions for the services of one cluster."""

    def __init__(self, sim: Sim, manager: HAManager) -> None:
        self.sim, self.manager = sim, manager
        self._waiting: set[str] = set()  # services in recovery already told they wait

    def recover(self, guest: SimGuest) -> None:
        """Manager.pm's next_state_recovery: any online node the rules allow, the fenced
        one included once it is back; else wait for one (tried again every round)."""
        sim, ha = self.sim, guest.ha
        assert ha is not None
        source = guest.node
        candidates = self.manager.services.candidates(guest)
        target = rules.chosen(candidates)
        if target is None:
            if ha.request is HARequest.DISABLED:  # an admin takes it out of recovery
                ha.state = HAState.STOPPED
                self._waiting.discard(guest.id)
                sim.touch(guest.id)
            elif guest.id not in self._waiting:
                self._waiting.add(guest.id)
                sim.narrate(EventKind.RECOVERY,
                            f"{guest.vmid} in recovery: no online node its rules "
                            f"allow can take it now; the CRM tries again every round "
                            f"({self.manager.cadence.length:.0f} s). {rules.explain(candidates)}",
                            source, guest.id)
            return
        self._waiting.discard(guest.id)
        if guest.lock in REMOVABLE_LOCKS:
            sim.narrate(EventKind.LOCK_REMOVED,
                        f"removed leftover lock '{guest.lock}' from recovered "
                        f"service {guest.vmid} to allow its start (its node was reset)",
                        source, guest.id)
            guest.lock = guest.busy = None
        guest.node = target
        sim.nodes[source].lrm.service_left(sim.now)
        ha.state = HAState.STARTED
        sim.touch(guest.id)
        where = (f"back to {target}, the fenced node itself (the only node its rules allow)"
                 if target == source else f"from {source} to {target}")
        sim.narrate(EventKind.RECOVERED, f"{guest.vmid} ({guest.name}) recovered {where}: the LRM "
                    f"of {target} starts it on its next round. "
                    f"{rules.explain(candidates)}", target, guest.id)
        if ha.request is HARequest.STARTED:
            self.manager.services.lrm_later(guest, self.manager.services.lrm_start)
        else:
            self.manager.services.apply(guest)

    def place(self, guest: SimGuest) -> None:
        """Manager.pm's next_state_started for a running service: leave a node in
        maintenance; fail back to a higher-priority node unless `nofailback`."""
        sim, ha = self.sim, guest.ha
        assert ha is not None
        node = sim.nodes[guest.node]
        if node.ha_state not in OPERATIONAL or sim.running_on_own_node(guest) is None:
            return
        if node.ha_state is NodeHAState.MAINTENANCE:
            candidates = self.manager.services.candidates(guest, exclude=(node.name,))
            target = rules.chosen(candidates)
            if target is not None:
                self.manager.services.move(guest, target, f"maintenance of {node.name}. "
                                           f"{rules.explain(candidates)}")
                ha.maintenance_from = node.name
            return
        together, apart = ha_rules.affinity(sim, guest)
        if why := rules.affinity_exclusion(node.name, together, apart):
            # Manager.pm's next_state_started: select_service_node may keep it here,
            # when the node affinity allows none of the partners' nodes
            candidates = self.manager.services.candidates(guest)
            target = rules.chosen(candidates)
            if target is not None and target != node.name:
                self.manager.services.move(guest, target, f"{why}. "
                                   f"{rules.explain(candidates)}")
            return
        priorities, restricted, nofailback = self.manager.services.preferences(guest)
        if nofailback and not (restricted and node.name not in priorities):
            return  # without failback it stays, unless a strict rule forbids its node
        candidates = self.manager.services.candidates(guest)
        target = rules.chosen(candidates)
        if target is not None and priorities.get(target, -1) > priorities.get(node.name, -1):
            self.manager.services.move(guest, target, f"failback: its group prefers {target}. "
                                       f"{rules.explain(candidates)}")

    def _returning(self, node: SimNode) -> list[SimGuest]:
        """The running services that left `node` for its maintenance."""
        return [g for g in self.sim.guests.values() if g.ha is not None
                and g.ha.maintenance_from == node.name and g.ha.state is HAState.STARTED
                and self.sim.running_on_own_node(g) is not None]

    def maintenance_ended(self, node: SimNode) -> None:
        returning = self._returning(node)
        if self.manager.disarm is not None:  # Manager.pm moves them when HA is armed again
            self.sim.narrate(EventKind.MAINTENANCE_END, f"{node.name} left maintenance: HA is "
                             f"disarmed, so its {services_text(len(returning))} move back "
                             "once it is armed again", node.name)
            return
        self.sim.narrate(EventKind.MAINTENANCE_END, f"{node.name} left maintenance: "
                         f"{services_text(len(returning))} move back", node.name)
        self.return_from_maintenance(node)

    def return_from_maintenance(self, node: SimNode) -> None:
        """Move the services that left `node` for its maintenance back to it."""
        for guest in self._returning(node):
            assert guest.ha is not None
            guest.ha.maintenance_from = None
            self.manager.services.move(guest, node.name, "back from maintenance")

    def start_balance(self, guest: SimGuest, forbidden: str = "") -> bool:
        """datacenter.cfg's ha-rebalance-on-start (Manager.pm's next_state_request_start,
        `request_start_balance`): a service about to start goes first to the node the
        scheduler scores best, its own included; True if it moves (its config, by its
        node's LRM, then the target's LRM starts it). `forbidden`: why the service's
        rules forbid its node, when that is why it moves before its start."""
        candidates = self.manager.services.candidates(guest)
        target = rules.chosen(candidates)
        if target is None or target == guest.node:
            return False
        ha = guest.ha
        assert ha is not None
        ha.state, ha.target = HAState.REQUEST_START_BALANCE, target
        self.sim.touch(guest.id)
        why = (f"its node {guest.node} is out ({forbidden}): it goes to {target} before it "
               "starts" if forbidden else f"re-balance selected new node {target} for startup")
        self.sim.narrate(EventKind.HA_MOVE, f"{guest.vmid}: {why}. {rules.explain(candidates)}",
                         guest.node, guest.id)

        def started() -> None:  # the CRM's next round (next_state_migrate_relocate)
            if ha.state is HAState.REQUEST_START_BALANCE:
                ha.state = HAState.STARTED
                self.sim.touch(guest.id)
                self.manager.services.lrm_later(guest, self.manager.services.lrm_start)

        def moved(g: SimGuest, node: str) -> None:
            # the offline migration went through `migrate` and `started`
            ha.state, ha.target = HAState.REQUEST_START_BALANCE, None
            self.manager.on_next_crm_round(started)

        def lrm_round(g: SimGuest, node: str) -> None:
            if not self.manager.services.lrm_may_act(g, node):
                return
            try:
                task = migration.migrate(self.sim, g, target, MigrationMode.OFFLINE, False)
            except BackendError as exc:
                self.sim.narrate(EventKind.HA_MOVE_REFUSED, f"{g.vmid} starts on {node}: "
                                 f"{exc.message}", node, g.id)
                moved(g, node)
                return
            task.then = lambda _task: moved(g, g.node)
        self.manager.services.lrm_later(guest, lrm_round)
        return True

    def relocate_failed(self, guest: SimGuest, node: str, error: str) -> None:
        """Manager.pm's next_state_started after the LRM gave up starting the service on
        `node`: relocate it to the best node it has not failed on yet (the `try-next`
        preference), up to `max_relocate` times, then `error`; with every node tried,
        start it again where it is."""
        sim, ha = self.sim, guest.ha
        if (ha is None or guest.id not in sim.guests or ha.state is not HAState.STARTED
                or guest.node != node):
            return
        ha.failed_nodes.append(node)
        if ha.relocations >= ha.max_relocate:
            ha.state = HAState.ERROR
            sim.touch(guest.id)
            sim.narrate(EventKind.SERVICE_ERROR, f"{guest.vmid} is in error: it failed to "
                        f"start after {ha.max_restart} restarts and {ha.relocations} "
                        f"relocations (last: {error}). Fix the cause, set it to disabled, "
                        "then to started again.", node, guest.id)
            return
        ha.relocations += 1
        ha.restarts = 0
        services = self.manager.services
        candidates = services.candidates(guest, exclude=tuple(ha.failed_nodes))
        target = rules.chosen(candidates)
        if target is None:
            sim.narrate(EventKind.RESTART, f"{guest.vmid} failed to start on every node "
                        f"({', '.join(ha.failed_nodes)}): starting it again on {node}",
                        node, guest.id)
            services.lrm_later(guest, services.lrm_start)
            return
        ha.state, ha.target = HAState.RELOCATE, target
        sim.touch(guest.id)
        sim.narrate(EventKind.RELOCATE, f"{guest.vmid} failed to start on {node} "
                    f"{ha.max_restart + 1} times: relocating to {target} (relocation "
                    f"{ha.relocations} of {ha.max_relocate}). {rules.explain(candidates)}",
                    node, guest.id)
        # its started keep-together partners follow its target in the same round
        # (Manager.pm's next_state_started for each: get_resource_affinity counts a
        # moving partner on its target)
        together, _ = ha_rules.partners(sim, guest)
        for partner in together:
            assert partner.ha is not None
            if (partner.ha.state is HAState.STARTED and partner.node != target
                    and sim.running_on_own_node(partner) is not None):
                services.move(partner, target, f"rule: kept together with {guest.vmid}, "
                              f"which relocates to {target}")

        def started() -> None:  # the CRM's round after the move: relocate -> started
            if ha.state in (HAState.RELOCATE, HAState.STARTED):
                ha.state, ha.target = HAState.STARTED, None
                sim.touch(guest.id)
                services.lrm_later(guest, services.lrm_start)

        def lrm_round(g: SimGuest, here: str) -> None:  # a stopped service: its config moves
            if not services.lrm_may_act(g, here):
                return
            sim.nodes[here].lrm.service_left(sim.now)
            g.node = target
            sim.touch(g.id)
            self.manager.on_next_crm_round(started)
        services.lrm_later(guest, lrm_round)
