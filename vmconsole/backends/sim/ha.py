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

This module keeps the manager's state, its timers and the nodes' power; the master's
rounds (node states, fencing, recovery) are in `ha_crm`, what corosync's membership
changes do in `ha_membership`, the LRMs' side in `ha_lrm`, the master lock in
`ha_master`, where services go in `ha_placement`, what the CRM and LRMs do with each
service in `ha_services`. A cluster is built with its manager, but only the master's
first round, about 10 s later, or an admin's HA action needs the rounds, the services
and the CRS: `ha_crm`, `services`, `placement` and `crs` are imported and made then
(issue 12).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim import ha_master, ha_membership, membership
from vmconsole.backends.sim.engine import Sim, Timer
from vmconsole.backends.sim.state import SimNode
from vmconsole.backends.sim.timing import CLUSTER, NODE_BOOT, OS_SHUTDOWN, Cadence, next_crm_round

if TYPE_CHECKING:
    from vmconsole.backends.sim.balance import CRSSettings
    from vmconsole.backends.sim.ha_placement import Placement
    from vmconsole.backends.sim.ha_services import Services


class HAManager:
    """The cluster's HA stack: one CRM master (or none) and an LRM per node."""

    def __init__(self, sim: Sim, cadence: Cadence = CLUSTER) -> None:
        """`cadence`: when the CRM and the LRMs work (CLUSTER, as on a real cluster;
        ha_testdir.HARNESS_CADENCE to play pve-ha-manager's test directories at the
        cadence of its test harness)."""
        self.sim = sim
        self.cadence = cadence
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
        self.skip_crm = 0  # CRM rounds to skip (the harness's skip-round)
        self.cfs_failed: set[str] = set()  # nodes whose pmxcfs refuses reads and writes
        self.lrm_paused_until = 0.0  # LRM rounds skipped until then
        self.disarmed = False  # every online LRM has released its lock and watchdog
        self.moving_at_last_round = False  # a service in migrate/relocate after it
        # One pass over the guests, not one per node (a million at 10,000 guests).
        configured = {g.node for g in sim.guests.values() if g.ha is not None}
        for node in sim.nodes.values():
            node.lrm.mode = ("active" if self.quorate[node.name] and node.name in configured
                             else "wait_for_agent_lock")
        if self.master is not None:
            self.schedule_round()

    # --- made on first use: by the master's first round or an admin's HA action ------

    @cached_property
    def services(self) -> Services:
        """What the CRM and the LRMs do with each HA service."""
        from vmconsole.backends.sim.ha_services import Services  # loaded when used

        return Services(self.sim, self)

    @cached_property
    def placement(self) -> Placement:
        """Where the CRM master puts services: recovery, moves, failback."""
        from vmconsole.backends.sim.ha_placement import Placement  # loaded when used

        return Placement(self.sim, self)

    @cached_property
    def crs(self) -> CRSSettings:
        """datacenter.cfg's crs: the scheduler and auto-rebalance (Manager.pm's defaults
        until a scenario, a lesson or the CRS form sets them)."""
        from vmconsole.backends.sim.balance import CRSSettings  # loaded when used

        return CRSSettings()

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

    def schedule_round(self) -> None:
        """The master's next round (its timer "round")."""
        assert self.master is not None
        master = self.sim.nodes[self.master]
        self.schedule("round", "", next_crm_round(master, self.sim.now, self.cadence),
                      self.crm_round)

    def crm_round(self) -> None:
        """One round of the master's CRM (Manager.pm's manage(): `ha_crm`)."""
        self._timers.pop(("round", ""), None)
        if self.master is None:
            return
        # The round's work and the placement rules and scoring it uses are imported by
        # the master's first round, about 10 s after the build, in the thread that
        # advances the model: the first screen and polls need none of it (issue 12).
        from vmconsole.backends.sim import ha_crm

        ha_crm.crm_round(self)

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
