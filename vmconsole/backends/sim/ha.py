"""The HA manager: the CRM master's rounds, the LRMs' watchdogs, fencing and recovery.

Rule for rule as pve-ha-manager (src/PVE/HA/Manager.pm, NodeStatus.pm, LRM.pm, CRM.pm):
- the CRM master works in rounds (every 10 s). Node states change only there: a node
  outside the quorate membership goes `online` -> `unknown` on the master's next round,
  and back to `online` on the first round that sees it again. Without a quorate master
  nothing changes state at all;
- the fence delay (60 s) counts from the last round that saw the node online; a new
  master has never seen the lost nodes online, so it starts its own delay when it takes
  over (NodeStatus's `last_online` lives only in the master's memory);
- once a node is in `fence`, nothing backs out: the master takes the node's agent lock
  as soon as its 120 s lease has expired, recovers its services, and a node that returns
  meanwhile sees the fence request, keeps its lock released and lets its watchdog reset
  it (LRM.pm's `is_fence_requested`);
- recovery picks any online node the service's group or affinity allows, the fenced node
  itself included once it is back; until one exists the service waits in `recovery`;
- an LRM that has been active stays armed (watchdog) until it has had no HA service for
  60 rounds (`max_active_idle_rounds`): losing quorum within those ten minutes resets
  its node, even if its only service was just set to `ignored`;
- on every round a running service with failback moves to a higher-priority node of its
  group, and a node in maintenance is drained.
A node without quorum never renews its lock, so the quorate side never starts a service
before the lost node has reset: no guest runs twice.

This module keeps the rounds, the node states and fencing; what corosync's membership
changes do is in `ha_membership`, the LRMs' side in `ha_lrm`, the master lock in
`ha_master`, where services go in `ha_placement`, what the
CRM and LRMs do with each service in `ha_services`.
"""

from __future__ import annotations

from collections.abc import Callable

from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim import balance, ha_disarm, ha_master, ha_membership, membership
from vmconsole.backends.sim.engine import Sim, Timer
from vmconsole.backends.sim.ha_lrm import clock_time
from vmconsole.backends.sim.ha_placement import OPERATIONAL, Placement, services_text
from vmconsole.backends.sim.ha_services import Services
from vmconsole.backends.sim.state import SimGuest, SimNode
from vmconsole.backends.sim.timing import (
    CLUSTER,
    FENCE_DELAY,
    LOCK_LEASE,
    NODE_BOOT,
    OS_SHUTDOWN,
    Cadence,
    next_crm_round,
)
from vmconsole.ha import rules
from vmconsole.model import HAState, NodeHAState

# Services in these states are fenced when their node has been offline for the fence
# delay (Manager.pm's next_state_started, _request_stop and _migrate_relocate).
FENCEABLE = (HAState.STARTED, HAState.REQUEST_STOP, HAState.MIGRATE, HAState.RELOCATE)


class HAManager:
    """The cluster's HA stack: one CRM master (or none) and an LRM per node."""

    def __init__(self, sim: Sim, cadence: Cadence = CLUSTER) -> None:
        """`cadence`: when the CRM and the LRMs work (CLUSTER, as on a real cluster;
        ha_testdir.HARNESS_CADENCE to play pve-ha-manager's test directories at the
        cadence of its test harness)."""
        self.sim = sim
        self.cadence = cadence
        self.services = Services(sim, self)
        self.placement = Placement(sim, self)
        quorum = membership.quorum_by_node(sim)
        self.quorate = {name: quorum.get(name) is not None and quorum[name].quorate
                        for name in sim.nodes}
        self.crm_stopped: set[str] = set()  # nodes whose CRM service an admin stopped
        # Requests and CRM commands (maintenance, migrate ...) for the master's next
        # round, or the next master's first (the harness's and pmxcfs's crm_commands).
        self.crm_queue: list[Callable[[], None]] = []
        candidate = ha_master.next_master(self)
        self.master: str | None = candidate.name if candidate is not None else None
        if self.master is None:  # an empty manager status: no node has an HA state yet
            for node in sim.nodes.values():
                node.ha_state = None
        self.master_lock_free_at = 0.0
        self.released_master = False  # the master's CRM is exiting cleanly
        # NodeStatus.pm's last_online: the master's memory of when it last saw each node.
        self.last_online = {name: sim.now for name, q in self.quorate.items() if q}
        self.member_groups = ha_membership.signatures(sim)  # as corosync last told them
        self.master_view = ha_membership.master_members(self)  # the nodes the master sees
        self._timers: dict[tuple[str, str], Timer] = {}  # (what, node) -> pending timer
        # The hardware: a node boots in `node_boot` s; a watchdog reset reboots it (real
        # hardware) or leaves it off (pve-ha-manager's test harness).
        self.node_boot = NODE_BOOT
        self.os_shutdown = OS_SHUTDOWN  # a shutting-down node's OS, once its CRM exits
        self.reset_reboots = True
        self.shutdown_policy = "conditional"  # datacenter.cfg's ha: shutdown_policy
        self.disarm: str | None = None  # freeze or ignore while the stack is disarmed
        self.crs = balance.CRSSettings()  # datacenter.cfg's crs: the scheduler
        self.skip_crm = 0  # CRM rounds to skip (the harness's skip-round)
        self.cfs_failed: set[str] = set()  # nodes whose pmxcfs refuses reads and writes
        self.lrm_paused_until = 0.0  # LRM rounds skipped until then
        self.disarmed = False  # every online LRM has released its lock and watchdog
        self._moving_at_last_round = False  # a service in migrate/relocate after it
        # One pass over the guests, not one per node (a million at 10,000 guests).
        configured = {g.node for g in sim.guests.values() if g.ha is not None}
        for node in sim.nodes.values():
            node.lrm.mode = ("active" if self.quorate[node.name] and node.name in configured
                             else "wait_for_agent_lock")
        if self.master is not None:
            self._schedule_round()

    # --- timers -----------------------------------------------------------------------

    def schedule(self, what: str, node: str, at: float, fn: Callable[[], None]) -> None:
        self.cancel(what, node)
        self._timers[(what, node)] = self.sim.at(at, fn)

    def cancel(self, what: str, node: str) -> None:
        timer = self._timers.pop((what, node), None)
        if timer is not None:
            timer.cancel()

    def timer(self, what: str, node: str) -> Timer | None:
        """The pending timer for (what, node), None if there is none."""
        return self._timers.get((what, node))

    def pending(self) -> set[tuple[str, str]]:
        """The (what, node) timers now pending: "down", "drain", "boot", "reset" ..."""
        return set(self._timers)

    def on_next_crm_round(self, fn: Callable[[], None]) -> None:
        """Run a CRM decision on the master's next round, before that round's own work
        (Manager.pm's manage() reads the service config and the CRM commands first);
        while there is no master, the next master runs it on its first round (and a CRM
        with a command to process becomes master, CRM.pm's can_get_active)."""
        self.crm_queue.append(fn)
        if self.master is None:
            ha_master.check_master(self)

    def crm_blocked(self) -> bool:
        """The master cannot work this round: a skipped round, or its cluster file
        system fails (it cannot read the manager status)."""
        return self.skip_crm > 0 or self.master in self.cfs_failed

    def set_cfs(self, node: SimNode, failed: bool) -> None:
        """pmxcfs on `node` fails (reads and writes refused) or works again. Its CRM,
        master or not, and its LRM skip their work meanwhile; nothing is fenced for it
        (pve-ha-manager's cfs tests)."""
        if failed:
            self.cfs_failed.add(node.name)
        else:
            self.cfs_failed.discard(node.name)
        self.sim.narrate(EventKind.CFS, f"{node.name}'s cluster file system "
                         + ("fails: its CRM and LRM cannot read or write the HA state and "
                            "skip their work; nothing is fenced for it" if failed else
                            "works again: its CRM and LRM resume"), node.name)

    # --- membership: what corosync tells each node (ha_membership) --------------------

    def membership_changed(self) -> None:
        """React to nodes dying, booting, losing or regaining their links: the LRMs at
        once (their watchdogs), the CRM master on its next round."""
        ha_membership.changed(self)

    # --- the CRM master -------------------------------------------------------------

    def _schedule_round(self) -> None:
        assert self.master is not None
        master = self.sim.nodes[self.master]
        self.schedule("round", "", next_crm_round(master, self.sim.now, self.cadence),
                      self.crm_round)

    def crm_round(self) -> None:
        """One round of the master's CRM (Manager.pm's manage())."""
        self._timers.pop(("round", ""), None)
        if self.master is None:
            return
        if self.crm_blocked():
            if self.skip_crm > 0:
                self.skip_crm -= 1
                self.sim.narrate(EventKind.SKIPPED_ROUND, f"the CRM master {self.master} skips a "
                                 "round (it was busy or blocked): nothing changes state until "
                                 "the next")
            self._schedule_round()
            return
        queued, self.crm_queue = self.crm_queue, []
        for fn in queued:
            fn()
        self._update_nodes()
        if self.disarm is None or not ha_disarm.handle(self):
            # Manager.pm's manage() balances before its service state loop, on the
            # states the last round wrote: a move the last round left in `migrate` is
            # still one for the balancer, which waits a round, though it has landed
            if not self._moving_at_last_round:
                balance.crm_round(self)
            self._manage()
            self._moving_at_last_round = self.crs.auto_rebalance and any(
                g.ha is not None and g.ha.state in (HAState.MIGRATE, HAState.RELOCATE)
                for g in self.sim.guests.values())
        self._schedule_round()

    def _offline_delayed(self, node: SimNode) -> bool:
        """NodeStatus.pm's node_is_offline_delayed: the fence delay has passed since the
        master last saw the node online (a node it never saw starts the count now)."""
        last = self.last_online.get(node.name)
        if last is None:
            self.last_online[node.name] = self.sim.now
            return False
        return rules.offline_delayed(last, self.sim.now, FENCE_DELAY)

    def _update_nodes(self) -> None:
        """NodeStatus.pm's update(): node states as the quorate membership shows them."""
        sim, now = self.sim, self.sim.now
        members = ha_membership.master_members(self)
        for node in sim.nodes.values():
            state = node.ha_state
            if node.name in members:
                self.last_online[node.name] = now
                maintenance = node.lrm.mode == "maintenance"
                if state is None:
                    self._set_node_state(node, NodeHAState.ONLINE)
                    sim.narrate(EventKind.NODE_ONLINE, f"{node.name} is online for the HA manager "
                                "(the first master's first round)", node.name)
                elif state is NodeHAState.UNKNOWN:
                    self._set_node_state(node, NodeHAState.ONLINE)
                    sim.narrate(EventKind.NODE_ONLINE, f"{node.name} is back in the quorate "
                                "membership", node.name)
                elif state is NodeHAState.ONLINE and maintenance:
                    self._set_node_state(node, NodeHAState.MAINTENANCE)
                    sim.narrate(EventKind.MAINTENANCE, f"{node.name} is in maintenance: the HA "
                                "manager migrates its HA services away (VMs live, containers "
                                "by restart); other guests stay", node.name)
                elif state is NodeHAState.MAINTENANCE and not maintenance:
                    self._set_node_state(node, NodeHAState.ONLINE)
                    self._maintenance_ended(node)
            elif state is NodeHAState.ONLINE or (
                    state is NodeHAState.MAINTENANCE and node.lrm.mode != "maintenance"):
                self._set_node_state(node, NodeHAState.UNKNOWN)
                self._narrate_lost(node)

    def _set_node_state(self, node: SimNode, state: NodeHAState | None) -> None:
        node.ha_state = state
        self.sim.touch_node(node)

    def _narrate_lost(self, node: SimNode) -> None:
        sim = self.sim
        services = self.services.on_node(node.name, FENCEABLE)
        if services:
            seen = self.last_online.get(node.name, sim.now)
            sim.narrate(EventKind.NODE_LOST,
                        f"{node.name} lost: waiting for the {FENCE_DELAY:.0f} s "
                        f"fence delay (from {clock_time(seen)}, the CRM's last round that saw "
                        f"it online) before fencing its {services_text(len(services))}",
                        node.name)
        elif frozen := self.services.on_node(node.name, (HAState.FREEZE,)):
            sim.narrate(EventKind.NODE_LOST, f"{node.name} left the cluster: its "
                        f"{services_text(len(frozen))} are frozen and wait for it", node.name)
        else:
            sim.narrate(EventKind.NODE_LOST, f"{node.name} lost: it has no HA services, there is "
                        "nothing to fence or recover", node.name)

    def _manage(self) -> None:
        """The services' side of a round: fence, recover, fail back, drain."""
        sim = self.sim
        ha_guests = [g for g in sim.guests.values() if g.ha is not None]
        to_fence: dict[str, list[SimGuest]] = {}
        members = ha_membership.master_members(self)
        for guest in ha_guests:
            assert guest.ha is not None
            node = sim.nodes[guest.node]
            # Manager.pm's next_state_started: a node in maintenance is not online
            # either; once it has been gone for the fence delay, its services are fenced
            # (a node already in `fence` too: a new master starts its own delay for it)
            gone = node.ha_state not in OPERATIONAL or (
                node.ha_state is NodeHAState.MAINTENANCE and node.name not in members)
            if guest.ha.state in FENCEABLE and gone and self._offline_delayed(node):
                guest.ha.state = HAState.FENCE
                sim.touch(guest.id)
            if guest.ha.state is HAState.FENCE:
                to_fence.setdefault(guest.node, []).append(guest)
        for name in sorted(to_fence):
            self._fence(sim.nodes[name], to_fence[name])
        for node in sim.nodes.values():  # a fence with no services left (an admin's doing)
            if node.ha_state is NodeHAState.FENCE and node.name not in to_fence:
                self._fence(node, [])
        for guest in ha_guests:
            assert guest.ha is not None
            if guest.ha.state is HAState.RECOVERY:
                self.placement.recover(guest)
            elif guest.ha.state is HAState.STARTED and guest.busy is None:
                self.placement.place(guest)

    # --- fencing and recovery -------------------------------------------------------

    def _fence(self, node: SimNode, services: list[SimGuest]) -> None:
        """NodeStatus.pm's fence_node: enter `fence`, then take the node's agent lock once
        its lease has expired (by then its watchdog has surely reset it)."""
        sim = self.sim
        free_at = node.lrm.lock_renewed + LOCK_LEASE
        if node.ha_state is not NodeHAState.FENCE:
            self._set_node_state(node, NodeHAState.FENCE)
            sim.narrate(EventKind.FENCE, f"fencing {node.name}: {services_text(len(services))} in "
                        f"'fence'; the CRM waits for its agent lock, free at "
                        f"{clock_time(max(free_at, sim.now))} (120 s after its last renewal), "
                        "when its watchdog has surely reset it", node.name)
        if sim.now < free_at:
            return
        self._set_node_state(node, NodeHAState.UNKNOWN)
        sim.narrate(EventKind.FENCED, f"{self.master} got {node.name}'s agent lock: {node.name} is "
                    f"fenced; recovering its {services_text(len(services))}", node.name)
        for guest in services:
            assert guest.ha is not None
            guest.ha.state = HAState.RECOVERY
            sim.touch(guest.id)

    def _maintenance_ended(self, node: SimNode) -> None:
        self.placement.maintenance_ended(node)

    # --- nodes going down and coming up ---------------------------------------------

    def node_down(self, node: SimNode) -> None:
        for guest_id in list(node.instances):
            self.sim.end_instance(guest_id, node.name)
        node.up = False
        if node.lrm.mode != "maintenance":  # its last status stays what the CRM reads
            node.lrm.mode = "wait_for_agent_lock"
        self.sim.touch_node(node)
        self.membership_changed()

    def node_up(self, node: SimNode) -> None:
        self._timers.pop(("boot", node.name), None)
        if not node.powered:
            return
        node.up = True
        node.up_since = self.sim.now
        self.sim.narrate(EventKind.NODE_BOOTED, f"{node.name} booted", node.name)
        self.membership_changed()

    def power_on(self, node: SimNode) -> None:
        node.powered = True
        self.sim.narrate(EventKind.NODE_BOOTING, f"{node.name} powered on: it boots and rejoins in "
                         f"about {self.node_boot:.0f} s", node.name)
        self.schedule("boot", node.name, self.sim.now + self.node_boot,
                      lambda: self.node_up(node))
