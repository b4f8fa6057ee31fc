"""HA services: what the CRM decides for each resource and what the LRMs then do.

An admin's request (started, stopped, disabled, ignored) is read by the CRM master on
its next round (every 10 s); the LRM of the service's node acts on its own next round.
A start that fails is retried `max_restart` times on the node, then the service is
relocated to another node up to `max_relocate` times, then it is in `error`.
Recovery after a fence, maintenance drains and failback choose a node by the group's
priorities or the node affinity, then by the CRS mode's score (basic: fewest HA
services, least memory used; static and dynamic: TOPSIS over CPU and memory,
`ha_usage`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from vmconsole.backends.base import BackendError, MigrationMode, TaskStatus
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim import ha_rules, migration, power
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.ha_candidates import ServiceNodes
from vmconsole.backends.sim.state import ACTIVE_STATES, MOVING_STATES, SimGuest
from vmconsole.backends.sim.tasks import TaskRecord
from vmconsole.backends.sim.timing import HA_STOP_TIMEOUT, next_round
from vmconsole.model import GuestKind, HARequest, HAState, NodeHAState

if TYPE_CHECKING:
    from vmconsole.backends.sim.ha import HAManager

_STOPPED_STATE = {HARequest.STOPPED: HAState.STOPPED, HARequest.DISABLED: HAState.DISABLED}


class Services(ServiceNodes):
    """Every HA service's CRM and LRM steps; where each may run is `ServiceNodes`'."""

    def __init__(self, sim: Sim, manager: HAManager) -> None:
        self.sim, self.manager = sim, manager

    # --- where a service may run ----------------------------------------------------

    def on_node(self, node: str, states: tuple[HAState, ...] = ACTIVE_STATES
                ) -> list[SimGuest]:
        return [g for g in self.sim.guests.values()
                if g.ha is not None and g.node == node and g.ha.state in states]

    # --- requests: the CRM's side ---------------------------------------------------

    def request(self, guest: SimGuest, request: HARequest) -> None:
        ha = guest.ha
        assert ha is not None
        ha.request = request
        ha.restarts = ha.relocations = 0
        if request is HARequest.IGNORED:
            self.sim.nodes[guest.node].lrm.service_left(self.sim.now)
            ha.state = HAState.IGNORED
            self.sim.touch(guest.id)
            return
        self.manager.on_next_crm_round(lambda: self.apply(guest))

    def apply(self, guest: SimGuest) -> None:
        """The CRM master's decision for one service on its round (none while the HA
        stack is disarmed: arming it again applies the requests)."""
        ha = guest.ha
        if ha is None or guest.id not in self.sim.guests or self.manager.disarm is not None:
            return
        if ha.state in (HAState.MIGRATE, HAState.RELOCATE, HAState.FENCE, HAState.RECOVERY):
            if ha.state in (HAState.MIGRATE, HAState.RELOCATE):  # decide once it arrived
                self.manager.on_next_crm_round(lambda: self.apply(guest))
            return
        if ha.state is HAState.ERROR and ha.request is not HARequest.DISABLED:
            return  # an error is left alone until an admin disables the service
        running = self.sim.running_on_own_node(guest) is not None
        if ha.request is HARequest.STARTED:
            starting = ha.state is not HAState.STARTED and not running
            # scored while not yet `started`: it loads no node (Usage.pm's request_start).
            # With rebalance-on-start it goes to the best node; without, only when its
            # rules forbid its node (Manager.pm's next_state_started, run again in the
            # same round once it is `started`, moves it before its LRM starts it)
            forbidden = self._forbidden_here(guest) if starting else ""
            if starting and (self.manager.crs.rebalance_on_start or forbidden) and (
                    self.manager.placement.start_balance(guest, forbidden)):
                return
            ha.state = HAState.STARTED
            if not running:
                self.lrm_later(guest, self.lrm_start)
        elif ha.request in _STOPPED_STATE:
            if running:
                ha.state = HAState.REQUEST_STOP
                self.lrm_later(guest, self.lrm_stop)
            else:
                ha.state = _STOPPED_STATE[ha.request]
        self.sim.touch(guest.id)

    def lrm_later(self, guest: SimGuest, action: Callable[[SimGuest, str], None]) -> None:
        """Run `action` on the next round of the LRM of the service's node (after any
        skipped rounds)."""
        node = guest.node
        at = max(self.sim.now, self.manager.lrm_paused_until)

        def run() -> None:
            if node in self.manager.cfs_failed:  # it cannot read its orders: next round
                self.lrm_later(guest, action)
            else:
                action(guest, node)
        self.sim.at(next_round(self.sim.nodes[node], at, self.manager.cadence), run)

    # --- the LRM's side -------------------------------------------------------------

    def lrm_may_act(self, guest: SimGuest, node: str) -> bool:
        """Whether the node's LRM acts on the service on its round: alive, quorate, armed,
        and not being fenced (LRM.pm: on a fence request it does not take its agent
        lock, without which it does nothing)."""
        target = self.sim.nodes[node]
        return (guest.id in self.sim.guests and guest.ha is not None and guest.node == node
                and target.alive and self.manager.quorate.get(node, False)
                and target.lrm.mode != "disarm" and target.ha_state is not NodeHAState.FENCE)

    def lrm_start(self, guest: SimGuest, node: str) -> None:
        ha = guest.ha
        if not self.lrm_may_act(guest, node) or ha is None or ha.state is not HAState.STARTED:
            return
        if self.sim.running_on_own_node(guest) is not None:
            return
        if guest.fake is not None and guest.fake.fails("start", node):
            self.start_failed(guest, node, "unable to start service (a fake resource)")
            return
        try:
            task = power.start(self.sim, guest)
        except BackendError:  # a user's task holds the guest: try on the next round
            self.lrm_later(guest, self.lrm_start)
            return
        task.log.insert(0, f"HA: the LRM of {node} starts service {guest.id}")

        def ended(task: TaskRecord) -> None:
            if task.status is TaskStatus.OK:
                ha.restarts = 0
                ha.failed_nodes.clear()  # "relocation policy successful"
                self.sim.narrate(EventKind.STARTED,
                                 f"{guest.vmid} ({guest.name}) started on {node} "
                                 f"by HA: booting, answers in about {guest.boot_seconds:.0f} s",
                                 node, guest.id)
            else:
                self.start_failed(guest, node, task.error or "start failed")

        task.then = ended

    def start_failed(self, guest: SimGuest, node: str, error: str) -> None:
        ha = guest.ha
        assert ha is not None
        ha.restarts += 1
        if ha.restarts <= ha.max_restart:
            self.sim.narrate(EventKind.RESTART,
                             f"{guest.vmid} failed to start on {node} ({error}): "
                             f"restart {ha.restarts} of {ha.max_restart} on the next LRM round",
                             node, guest.id)
            self.lrm_later(guest, self.lrm_start)
            return
        # the LRM gives up on this node; the CRM decides on its next round
        # (Manager.pm's next_state_started: relocate, or error)
        self.manager.on_next_crm_round(
            lambda: self.manager.placement.relocate_failed(guest, node, error))

    def lrm_stop(self, guest: SimGuest, node: str) -> None:
        ha = guest.ha
        if (not self.lrm_may_act(guest, node) or ha is None
                or ha.state is not HAState.REQUEST_STOP):
            return
        final = _STOPPED_STATE.get(ha.request, HAState.STOPPED)
        if guest.fake is not None and guest.fake.cannot_stop and (
                self.sim.running_on_own_node(guest) is not None):
            self.sim.narrate(EventKind.SERVICE_ERROR, f"{guest.vmid}: its LRM on {node} is "
                             "unable to stop it (still running, a fake resource); the CRM "
                             "puts it in error on its next round", node, guest.id)

            def stop_failed() -> None:
                if ha.state is HAState.REQUEST_STOP:
                    ha.state = HAState.ERROR
                    self.sim.touch(guest.id)
                    self.apply(guest)  # a disabled request takes it out of error at once
            self.manager.on_next_crm_round(stop_failed)
            return

        def stopped(task: TaskRecord) -> None:
            if task.status is not TaskStatus.OK and self.sim.running_on_own_node(guest):
                power.stop(self.sim, guest).then = stopped  # shutdown timed out: hard stop
                return
            ha.state = final
            self.sim.touch(guest.id)

        try:
            if ha.stop_timeout == 0:  # `ha-manager crm-command stop SID 0`: hard stop
                power.stop(self.sim, guest).then = stopped
            else:
                power.shutdown(self.sim, guest, ha.stop_timeout or HA_STOP_TIMEOUT
                               ).then = stopped
        except BackendError:
            self.lrm_later(guest, self.lrm_stop)

    # --- moving services: admin requests, maintenance and failback ------------------

    def command(self, guest: SimGuest, verb: str, target: str) -> None:
        """`ha-manager migrate|relocate SID NODE`: a command the CRM reads on its next
        round (Manager.pm's update_crm_commands, then next_state_started), after every
        other command of that round: a disarm read in the same round, or in force,
        prunes it (handle_disarm deletes the services' pending `cmd`)."""
        def crm_round() -> None:
            self.sim.at(self.sim.now, apply_command)  # after this round's other commands

        def apply_command() -> None:
            ha = guest.ha
            if ha is None or guest.id not in self.sim.guests:
                return
            if self.manager.disarm is not None:
                self.sim.narrate(EventKind.HA_MOVE_REFUSED,
                                 f"{guest.vmid}: {verb} request dropped - the HA stack is "
                                 f"disarmed ({self.manager.disarm}), which prunes pending "
                                 "commands", guest.node, guest.id)
                return
            node = self.sim.nodes[target]
            if node.ha_state is not NodeHAState.ONLINE:
                self.sim.narrate(EventKind.HA_MOVE_REFUSED,
                                 f"{guest.vmid}: {verb} request ignored - "
                                 f"node '{target}' not online", guest.node, guest.id)
                return
            if guest.node == target:
                self.sim.narrate(EventKind.HA_MOVE_REFUSED,
                                 f"{guest.vmid}: {verb} request ignored - "
                                 f"service already on node '{target}'", guest.node, guest.id)
                return
            # Manager.pm's queue_resource_motion: a negative partner on the target
            # refuses the command; positive partners not there yet move along.
            together, apart = ha_rules.partners(self.sim, guest)
            if blocker := next((p for p in apart if p.node == target), None):
                self.sim.narrate(EventKind.HA_MOVE_REFUSED,
                                 f"{guest.vmid}: {verb} request refused - "
                                 f"{blocker.vmid} on {target} is in negative affinity with "
                                 "it", guest.node, guest.id)
                return
            self._admin_move(guest, verb, target, f"admin {verb} request")
            for partner in together:
                assert partner.ha is not None
                if partner.node != target and not (partner.ha.state in MOVING_STATES
                                                   and partner.ha.target == target):
                    self._admin_move(partner, verb, target, f"admin {verb} request for "
                                     f"{guest.vmid}, in positive affinity with it")
        self.manager.on_next_crm_round(crm_round)

    def _admin_move(self, guest: SimGuest, verb: str, target: str, why: str) -> None:
        ha = guest.ha
        assert ha is not None
        if ha.state is HAState.STOPPED or ha.state is HAState.DISABLED:
            self.move(guest, target, f"{why} (stopped: its config moves)")
        elif ha.state is HAState.STARTED:
            self.move(guest, target, why, relocate=verb == "relocate")

    def move(self, guest: SimGuest, target: str, why: str, relocate: bool = False) -> None:
        """The CRM puts the service into `migrate` (a running VM, live) or `relocate`
        (a container, or on request: stop, move, start); the LRM of its node does it
        on its next round."""
        ha = guest.ha
        assert ha is not None
        running = self.sim.running_on_own_node(guest) is not None
        relocate = relocate or guest.kind is GuestKind.CT
        if running:
            ha.state = HAState.RELOCATE if relocate else HAState.MIGRATE
            ha.target = target
            self.sim.touch(guest.id)
        self.sim.narrate(EventKind.HA_MOVE, f"{guest.vmid} moves to {target}: {why}", guest.node,
                         guest.id)
        self.lrm_later(guest, lambda g, node: self._lrm_move(g, node, target, relocate))

    def _lrm_move(self, guest: SimGuest, node: str, target: str, relocate: bool) -> None:
        ha = guest.ha
        if not self.lrm_may_act(guest, node) or ha is None:
            return
        running = self.sim.running_on_own_node(guest) is not None
        try:
            if guest.fake is not None and guest.fake.fails("migrate", node):
                raise BackendError(f"{'relocate' if relocate else 'migrate'} to {target} "
                                   "failed (a fake resource)")
            if not running:
                migration.migrate(self.sim, guest, target, MigrationMode.OFFLINE, False)
            elif guest.kind is GuestKind.CT:
                migration.migrate(self.sim, guest, target, MigrationMode.RESTART, False)
            elif relocate:
                self._relocate_vm(guest, node, target)
            else:
                migration.migrate(self.sim, guest, target, MigrationMode.LIVE, False)
        except BackendError as exc:
            ha.state = HAState.STARTED if running else ha.state
            self.sim.touch(guest.id)
            self.sim.narrate(EventKind.HA_MOVE_REFUSED, f"{guest.vmid} stays on {guest.node}: "
                             f"{exc.message}", guest.node, guest.id)

    def _relocate_vm(self, guest: SimGuest, node: str, target: str) -> None:
        """Relocate a running VM: shut it down, move it offline, start it there."""
        ha = guest.ha
        assert ha is not None

        def moved(task: TaskRecord) -> None:
            ha.state = HAState.STARTED
            self.sim.touch(guest.id)
            if task.status is TaskStatus.OK and ha.request is HARequest.STARTED:
                self.lrm_later(guest, self.lrm_start)

        def stopped(task: TaskRecord) -> None:
            if task.status is not TaskStatus.OK and self.sim.running_on_own_node(guest):
                power.stop(self.sim, guest).then = stopped
                return
            try:
                migration.migrate(self.sim, guest, target, MigrationMode.OFFLINE,
                                  False).then = moved
            except BackendError as exc:
                ha.state = HAState.STARTED
                self.sim.narrate(EventKind.HA_MOVE_REFUSED, f"{guest.vmid} stays on {node}: "
                                 f"{exc.message}", node, guest.id)
                self.lrm_later(guest, self.lrm_start)

        power.shutdown(self.sim, guest, HA_STOP_TIMEOUT).then = stopped
