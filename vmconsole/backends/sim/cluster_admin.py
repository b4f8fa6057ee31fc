"""The simulated cluster's HA, CRS, fault-tolerance and fault controls: what a teacher,
a lesson, the HA rules screen and the CRS and FT forms change, each as the Proxmox HA
stack (or the course's FT model) would take it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmconsole.backends.abilities import FaultKind
from vmconsole.backends.base import Conflict, Task
from vmconsole.backends.sim.core import SimCore
from vmconsole.backends.sim.state import HAGroup

if TYPE_CHECKING:
    from vmconsole.backends.ha_config import CRSView, FTLimits, HARules, HASettings
    from vmconsole.backends.sim.ha_rules import ResourceAffinity
    from vmconsole.balance import Rules

# The HA admin commands, the LRM and CRM restarts, disarming, the placement rules, the
# CRS, fault tolerance, the HA rule and CRS screens' model (sim/ha_config.py and its
# data, backends/ha_config.py) and the faults are imported by the methods that use them:
# not before the first screen (issue 12).


class ClusterAdmin(SimCore):
    """`SimBackend`'s HA, CRS, FT and fault methods."""

    # --- high availability ----------------------------------------------------------

    def ha_set(self, guest_id: str, settings: HASettings) -> Task:
        from vmconsole.backends.sim import ha_admin  # loaded when used
        return self._act(guest_id, lambda sim, guest: ha_admin.ha_set(
            sim, self.ha, guest, settings))

    def ha_remove(self, guest_id: str) -> Task:
        from vmconsole.backends.sim import ha_admin  # loaded when used
        return self._act(guest_id, lambda sim, guest: ha_admin.ha_remove(sim, self.ha, guest))

    def ha_groups(self) -> list[str]:
        with self._lock:
            return sorted(self.sim.groups)

    def set_maintenance(self, node: str, enabled: bool) -> None:
        """Put a node into HA maintenance (drained by migration) or take it out."""
        from vmconsole.backends.sim import ha_admin  # loaded when used
        with self._lock:
            self.sim.advance()
            ha_admin.set_maintenance(self.sim, self.ha, self.sim.node(node), enabled)
            self.sim.settle()

    def reboot_node(self, node: str) -> None:
        """Reboot a node as an admin does; its HA services follow the shutdown policy
        (Proxmox's default, conditional: they freeze)."""
        from vmconsole.backends.sim import ha_admin  # loaded when used
        self._node_admin(lambda: ha_admin.shutdown_node(self.sim, self.ha,
                                                        self.sim.node(node), reboot=True))

    def shutdown_node(self, node: str) -> None:
        """Shut a node down as an admin does; its HA services follow the shutdown
        policy (conditional: they are recovered elsewhere after the fence delay)."""
        from vmconsole.backends.sim import ha_admin  # loaded when used
        self._node_admin(lambda: ha_admin.shutdown_node(self.sim, self.ha,
                                                        self.sim.node(node), reboot=False))

    def set_shutdown_policy(self, policy: str) -> None:
        """conditional, freeze, failover or migrate (datacenter.cfg's ha option)."""
        from vmconsole.backends.sim import ha_admin  # loaded when used
        self._node_admin(lambda: ha_admin.set_shutdown_policy(self.sim, self.ha, policy))

    def restart_lrm(self, node: str) -> None:
        """Restart a node's LRM: its HA services freeze (running on) until it is back."""
        from vmconsole.backends.sim import ha_lrm  # loaded when used
        self._node_admin(lambda: ha_lrm.restart_lrm(self.ha, self.sim.node(node)))

    def restart_crm(self, node: str) -> None:
        """Restart a node's CRM: a master releases the manager lock on the way."""
        from vmconsole.backends.sim import ha_master  # loaded when used
        def restart() -> None:
            target = self.sim.node(node)
            ha_master.stop_crm(self.ha, target)
            ha_master.start_crm(self.ha, target)
        self._node_admin(restart)

    def set_cfs_failure(self, node: str, failed: bool) -> None:
        """Make a node's cluster file system fail (or work again): its HA stack skips
        its work meanwhile."""
        self._node_admin(lambda: self.ha.set_cfs(self.sim.node(node), failed))

    def skip_rounds(self, what: str, rounds: int = 1) -> None:
        """Let the CRM master ("crm") or the LRMs ("lrm") miss `rounds` rounds."""
        from vmconsole.backends.sim import ha_admin  # loaded when used
        self._node_admin(lambda: ha_admin.skip_rounds(self.sim, self.ha, what, rounds))

    def ha_rules(self) -> list[ResourceAffinity]:
        """The resource-affinity rules (keep together, keep apart)."""
        with self._lock:
            return list(self.sim.affinity_rules)

    def ha_rule_set(self, name: str, resources: list[str], positive: bool) -> None:
        """Add or replace a resource-affinity rule over guest ids (qemu/100, lxc/200)."""
        from vmconsole.backends.sim import ha_admin  # loaded when used
        from vmconsole.backends.sim.ha_rules import ResourceAffinity  # loaded when used
        self._node_admin(lambda: ha_admin.rule_set(self.sim, self.ha, ResourceAffinity(
            name, tuple(resources), positive)))

    def ha_rule_remove(self, name: str) -> None:
        from vmconsole.backends.sim import ha_admin  # loaded when used
        self._node_admin(lambda: ha_admin.rule_remove(self.sim, name))

    def ha_group_set(self, name: str, priorities: dict[str, int], restricted: bool = False,
                     nofailback: bool = False) -> None:
        """Add or change an HA group: node -> priority (higher preferred)."""
        from vmconsole.backends.sim import ha_admin  # loaded when used
        self._node_admin(lambda: ha_admin.group_set(self.sim, HAGroup(
            name, dict(priorities), restricted, nofailback)))

    def placement(self, guest_id: str) -> list[str]:
        """Where the HA manager would place the guest now, node by node: its score or
        the rule that leaves it out (crm_simulate -s's view)."""
        from vmconsole.ha import rules  # loaded when used
        with self._lock:
            self.sim.advance()
            guest = self.sim.guest(guest_id)
            if guest.ha is None:
                raise Conflict(f"{guest_id} is not an HA resource")
            candidates = self.ha.services.candidates(guest)
            return [rules.describe(c) for c in candidates]

    def crs_plan(self) -> list[str]:
        """The load balancer's view: node loads, the imbalance, and its recommendations
        with their gain (a forbidden one with the rule in its way)."""
        from vmconsole.backends.sim import balance  # loaded when used
        with self._lock:
            self.sim.advance()
            head = balance.summary(self.ha)
            return [head] + [balance.describe(m, self.sim.guests) for m in balance.plan(self.ha)]

    def placement_rules(self) -> Rules:
        """HA services' groups and affinity as the CRM applies them; HA services left
        to the CRS while its auto-rebalance is on."""
        from vmconsole.backends.sim import balance  # loaded when used
        with self._lock:
            self.sim.advance()
            return balance.placement_rules(self.ha)

    def crs_apply(self, count: int = 1) -> int:
        """Apply the first `count` allowed recommendations; returns how many."""
        from vmconsole.backends.sim import balance  # loaded when used
        with self._lock:
            self.sim.advance()
            moves = balance.apply(self.ha, count)
            self.sim.settle()
            return len(moves)

    def set_crs(self, mode: str = "basic", auto_rebalance: bool = False,
                threshold: float = 0.3, hold: int = 3, margin: float = 0.1) -> None:
        """The scheduler and auto-rebalance, in datacenter.cfg's units (`balance.configure`)."""
        from vmconsole.backends.sim import balance  # loaded when used
        self._node_admin(lambda: balance.configure(self.ha, mode, auto_rebalance,
                                                   threshold, hold, margin))

    def set_fault_tolerance(self, guest_id: str, secondary: str | None) -> None:
        """Make a running VM fault tolerant with its shadow copy on `secondary`, or
        (None) turn FT off. Refused with the course's reasons (10 Gbit link, 4 FT VMs
        and 8 FT vCPUs per host, not an HA resource)."""
        from vmconsole.backends.sim import ft  # loaded when used
        def change() -> None:
            guest = self.sim.guest(guest_id)
            if secondary is None:
                ft.disable(self.sim, guest)
            else:
                ft.enable(self.sim, guest, secondary)
            self.sim.touch(guest_id)  # the inventory reports its FT state
        self._node_admin(change)

    def fault_tolerance(self, guest_id: str) -> list[str]:
        """Where the primary and the secondary are, and FT's price."""
        from vmconsole.backends.sim import ft  # loaded when used
        with self._lock:
            self.sim.advance()
            return ft.status(self.sim, self.sim.guest(guest_id))

    def disarm_ha(self, mode: str) -> None:
        """`ha-manager crm-command disarm-ha freeze|ignore` (PVE 9.2)."""
        from vmconsole.backends.sim import ha_disarm  # loaded when used
        self._node_admin(lambda: ha_disarm.request_disarm(self.ha, mode))

    def arm_ha(self) -> None:
        """`ha-manager crm-command arm-ha`."""
        from vmconsole.backends.sim import ha_disarm  # loaded when used
        self._node_admin(lambda: ha_disarm.request_arm(self.ha))

    def ha_status(self) -> list[str]:
        """`ha-manager status`, line by line (fencing: armed or standby)."""
        from vmconsole.backends.sim import ha_admin  # loaded when used
        with self._lock:
            self.sim.advance()
            return ha_admin.status(self.sim, self.ha)

    def inject_fault(self, node: str, fault: FaultKind) -> None:
        from vmconsole.backends.sim import faults  # loaded when used
        with self._lock:
            self.sim.advance()
            faults.inject(self.sim, self.ha, self.sim.node(node), fault)
            self.sim.settle()

    def partition(self, groups: list[list[str]]) -> None:
        from vmconsole.backends.sim import faults  # loaded when used
        with self._lock:
            self.sim.advance()
            faults.partition(self.sim, self.ha, groups)
            self.sim.settle()

    def restore(self, node: str | None = None) -> None:
        from vmconsole.backends.sim import faults  # loaded when used
        with self._lock:
            self.sim.advance()
            faults.restore(self.sim, self.ha, None if node is None else self.sim.node(node))
            self.sim.settle()

    # --- the console's HA rule, CRS and FT screens (backends/ha_config.py) -------------

    def ha_config(self) -> HARules:
        """Every HA rule, and the nodes and guests a rule may name."""
        from vmconsole.backends.sim import ha_config  # loaded when used
        with self._lock:
            self.sim.advance()
            return ha_config.read(self.sim)

    def ha_node_affinity_set(self, name: str, nodes: dict[str, int], positive: bool,
                             strict: bool, nofailback: bool, resources: list[str]) -> None:
        """Add or replace a node-affinity rule (an HA group) after Proxmox's checks."""
        from vmconsole.backends.ha_config import NodeAffinityRule  # loaded when used
        from vmconsole.backends.sim import ha_config  # loaded when used
        self._node_admin(lambda: ha_config.node_affinity_set(self.sim, NodeAffinityRule(
            name, dict(nodes), positive, strict, nofailback, tuple(resources))))

    def ha_node_affinity_remove(self, name: str) -> None:
        from vmconsole.backends.sim import ha_config  # loaded when used
        self._node_admin(lambda: ha_config.node_affinity_remove(self.sim, name))

    def ha_resource_affinity_set(self, name: str, resources: list[str],
                                 positive: bool) -> None:
        """`ha_rule_set` after Proxmox's checks: HA resources only, no contradiction."""
        from vmconsole.backends.ha_config import ResourceAffinityRule  # loaded when used
        from vmconsole.backends.sim import ha_config  # loaded when used
        self._node_admin(lambda: ha_config.resource_affinity_set(
            self.sim, self.ha, ResourceAffinityRule(name, tuple(resources), positive)))

    def crs_settings(self) -> CRSView:
        from vmconsole.backends.sim import ha_config  # loaded when used
        with self._lock:
            return ha_config.crs_view(self.ha)

    def ft_limits(self, guest_id: str) -> FTLimits:
        from vmconsole.backends.sim import ft  # loaded when used
        with self._lock:
            self.sim.advance()
            return ft.limits(self.sim, self.sim.guest(guest_id))
