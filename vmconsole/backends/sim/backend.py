"""`SimBackend`: the simulated cluster behind the backend protocol.

Every public method takes the lock, processes the events due up to the clock's present,
then answers; so the model needs no thread of its own and a `ManualClock` drives it
deterministically in tests.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from vmconsole.backends.backups import Backup, BackupOptions, BackupSpec, RestoreSpec
from vmconsole.backends.base import (
    Capabilities,
    CloneSpec,
    ClusterEvent,
    Conflict,
    FaultKind,
    HASettings,
    InvalidInput,
    MetricSample,
    MigrationMode,
    MigrationTarget,
    NotFound,
    NotSupported,
    Task,
)
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.ha_config import (
    CRSView,
    FTLimits,
    HARules,
    NodeAffinityRule,
    ResourceAffinityRule,
)
from vmconsole.backends.hardware import GuestHardware, HardwareChange
from vmconsole.backends.sim import (
    backups,
    balance,
    clones,
    faults,
    ft,
    ha_admin,
    ha_config,
    ha_disarm,
    ha_lrm,
    ha_master,
    hardware,
    migration,
    power,
    removal,
    snapshots,
)
from vmconsole.backends.sim.clock import RealClock, SimClock
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.ha import HAManager
from vmconsole.backends.sim.ha_rules import ResourceAffinity
from vmconsole.backends.sim.inventory import InventoryBuilder, report_interval
from vmconsole.backends.sim.lab import build_classic_lab, build_generated
from vmconsole.backends.sim.scenarios import SCENARIOS, ScenarioRun, describe
from vmconsole.backends.sim.state import HAGroup, SimGuest, Votequorum
from vmconsole.backends.sim.tasks import TaskRecord
from vmconsole.balance import Rules
from vmconsole.config import SimCluster
from vmconsole.ha import rules
from vmconsole.model import HARequest, HAState, Inventory, Snapshot

MAX_NODES = 1000
MAX_GUESTS = 100_000

CAPABILITIES = Capabilities(
    vmids=True, containers=True, templates=True, snapshots=True, snapshot_ram=True,
    linked_clone=True, live_migration=True, ha=True, history=False, faults=True,
    time_control=True, hardware=True, backups=True, destroy=True,
)


class SimBackend:
    def __init__(self, cfg: SimCluster, clock: SimClock | None = None) -> None:
        problems = {key: reason for key, bad, reason in (
            ("nodes", not 1 <= cfg.nodes <= MAX_NODES, f"between 1 and {MAX_NODES}"),
            ("guests", not 0 <= cfg.guests <= MAX_GUESTS, f"between 0 and {MAX_GUESTS}"),
            ("time_scale", not cfg.time_scale >= 0, "0 (paused) or more"),
        ) if bad}
        if problems:
            raise InvalidInput("simulated cluster refused: " + "; ".join(
                f"{k} must be {v}" for k, v in problems.items()), problems)
        self.clock = clock if clock is not None else RealClock(cfg.time_scale)
        self._lock = threading.RLock()
        self._probe_rng = random.Random(f"{cfg.seed}:probe")
        self._build(cfg, first_event=0)

    def _build(self, cfg: SimCluster, first_event: int) -> None:
        scenario = None
        if cfg.scenario is not None:
            scenario = SCENARIOS.get(cfg.scenario)
            # Lessons and pve-ha-manager test directories: their parsers are loaded
            # only for them, not before every console's first screen.
            from vmconsole.backends.sim.lesson import is_lesson_path, load_lesson

            if scenario is None and is_lesson_path(cfg.scenario):
                scenario = load_lesson(Path(cfg.scenario))
            if scenario is None:
                raise NotFound(f"no scenario '{cfg.scenario}' (scenarios: "
                               f"{', '.join(SCENARIOS)}; or a lesson file or a "
                               "pve-ha-manager test directory)")
        self.cfg = cfg
        self.sim = Sim(self.clock, cfg.seed, cfg.name, first_event)
        if scenario is not None:
            self.sim.votequorum = Votequorum(**dict.fromkeys(scenario.quorum_options, True))
        if scenario is not None and scenario.build is not None:
            scenario.build(self.sim)
            self.sim.qdevice = scenario.qdevice
        elif scenario is not None:
            build_classic_lab(self.sim, scenario.nodes)
            self.sim.qdevice = scenario.qdevice
        elif cfg.guests == 0:
            build_classic_lab(self.sim, cfg.nodes)
        else:
            build_generated(self.sim, cfg.nodes, cfg.guests)
        self.sim.settle()
        self.ha = HAManager(self.sim)
        if scenario is not None:
            if scenario.node_boot is not None:
                self.ha.node_boot = scenario.node_boot
            self.ha.reset_reboots = scenario.reset_reboots
            self.ha.shutdown_policy = scenario.shutdown_policy
            if scenario.crs is not None:
                self.ha.crs = replace(scenario.crs)
        self.scenario = None if scenario is None else ScenarioRun(scenario, self.sim, self.ha)
        self._inventory = InventoryBuilder(self.sim, self.sim.load,
                                           report_interval(len(self.sim.guests)))

    def scenarios(self) -> list[tuple[str, str]]:
        return describe()

    def start_scenario(self, name: str | None) -> None:
        """Replace the cluster by a scenario's (None: the classic lab), on the same clock.

        Event numbers go on from the old model's, so a poller keeps reading them; every
        console sharing this backend sees the new cluster at its next poll.
        """
        with self._lock:
            self.sim.advance()
            last_event = self.sim.events[-1].seq if self.sim.events else 0
            self._build(replace(self.cfg, scenario=name, guests=0, nodes=3), last_event)
            if name is None:  # a scenario says itself; the classic lab is said here
                self.sim.narrate(EventKind.SCENARIO, "the classic lab again, as the demo opens")

    # --- the protocol's read side ---------------------------------------------------

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def address(self) -> str:
        return "simulated in this process"

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    def inventory(self) -> Inventory:
        with self._lock:
            self.sim.advance()
            return self._inventory.build()

    def history(self, object_id: str, timeframe: str) -> list[MetricSample]:
        raise NotSupported("the simulator keeps no history: the console's poller does")

    def tasks(self) -> list[Task]:
        with self._lock:
            self.sim.advance()
            now = self.sim.now
            return [record.to_task(now) for record in self.sim.tasks.values()]

    def task(self, task_id: str) -> Task:
        with self._lock:
            self.sim.advance()
            record = self.sim.tasks.get(task_id)
            if record is None:
                raise NotFound(f"no task {task_id}")
            return record.to_task(self.sim.now)

    def next_vmid(self) -> int | None:
        with self._lock:
            self.sim.advance()
            return clones.free_vmid(self.sim)

    def close(self) -> None:
        """Nothing to release: the model lives in this process."""

    # --- time, events, probes -------------------------------------------------------

    @property
    def time_scale(self) -> float:
        return self.clock.time_scale

    def set_time_scale(self, scale: float) -> None:
        with self._lock:
            self.sim.advance()
            self.clock.set_time_scale(scale)

    def now(self) -> float:
        with self._lock:
            self.sim.advance()
            return self.sim.now

    def events(self, since: int = 0) -> list[ClusterEvent]:
        with self._lock:
            self.sim.advance()
            return [e for e in self.sim.events if e.seq > since]

    def scenario_summary(self) -> list[str]:
        """What the running scenario has measured so far (empty without one)."""
        with self._lock:
            self.sim.advance()
            return [] if self.scenario is None else self.scenario.summary()

    def probe(self, guest_id: str) -> float | None:
        """An RTT of a few tenths of a millisecond (a little more while a migration fills
        the link) when the model says the guest answers on the network at this instant,
        else None (a lost probe)."""
        with self._lock:
            self.sim.advance()
            if guest_id not in self.sim.guests or not self.sim.reachable(guest_id):
                return None
            rtt = 0.2 + 0.25 * self._probe_rng.random() ** 2
            if self.sim.migrating(guest_id):  # the pre-copy fills the link: queues grow
                rtt += 0.15 + 0.3 * self._probe_rng.random()
            return rtt / 1000.0

    # --- operations -----------------------------------------------------------------

    def _act(self, guest_id: str, operation: Callable[..., TaskRecord], *args: object) -> Task:
        with self._lock:
            self.sim.advance()
            record = operation(self.sim, self.sim.guest(guest_id), *args)
            self.sim.settle()
            return record.to_task(self.sim.now)

    def _ha_managed(self, guest_id: str) -> bool:
        with self._lock:
            ha = self.sim.guest(guest_id).ha
            return ha is not None and ha.request is not HARequest.IGNORED

    def _ha_power(self, guest_id: str, request: HARequest, operation: str) -> Task:
        with self._lock:
            self.sim.advance()
            guest = self.sim.guest(guest_id)
            running = self.sim.running_on_own_node(guest) is not None
            if running == (request is HARequest.STARTED):  # the usual refusal, same words
                check = power.running_instance if running else power.start
                check(self.sim, guest)  # raises Conflict
            record = ha_admin.ha_power(self.sim, self.ha, guest, request, operation)
            self.sim.settle()
            return record.to_task(self.sim.now)

    def start(self, guest_id: str) -> Task:
        if self._ha_managed(guest_id):
            return self._ha_power(guest_id, HARequest.STARTED, "start")
        return self._act(guest_id, power.start)

    def shutdown(self, guest_id: str, timeout: float = 60.0) -> Task:
        if self._ha_managed(guest_id):
            return self._ha_power(guest_id, HARequest.STOPPED, "shutdown")
        return self._act(guest_id, power.shutdown, timeout)

    def stop(self, guest_id: str) -> Task:
        if self._ha_managed(guest_id):
            return self._ha_power(guest_id, HARequest.STOPPED, "stop")
        return self._act(guest_id, power.stop)

    def reboot(self, guest_id: str) -> Task:
        return self._act(guest_id, power.reboot)

    def clone(self, guest_id: str, spec: CloneSpec) -> Task:
        return self._act(guest_id, clones.clone, spec)

    def convert_to_template(self, guest_id: str) -> Task:
        return self._act(guest_id, clones.convert_to_template)

    def destroy(self, guest_id: str) -> Task:
        """Delete a stopped guest that is no HA resource, and its disks."""
        return self._act(guest_id, removal.destroy)

    def snapshots(self, guest_id: str) -> list[Snapshot]:
        with self._lock:
            self.sim.advance()
            return snapshots.listing(self.sim.guest(guest_id))

    def snapshot_create(self, guest_id: str, name: str, description: str = "",
                        vmstate: bool = False) -> Task:
        return self._act(guest_id, snapshots.create, name, description, vmstate)

    def snapshot_rollback(self, guest_id: str, name: str) -> Task:
        return self._act(guest_id, self._rollback, name)

    def _rollback(self, sim: Sim, guest: SimGuest, name: str) -> TaskRecord:
        """A rollback to a snapshot without RAM leaves the guest stopped. If the HA
        manager keeps it in state started, the LRM of its node finds it stopped on its
        next round and starts it again, as pve-ha-lrm does for any started service."""
        record = snapshots.rollback(sim, guest, name)

        def ended(_task: TaskRecord) -> None:
            ha = guest.ha
            if (ha is None or ha.state is not HAState.STARTED
                    or sim.running_on_own_node(guest) is not None):
                return
            sim.narrate(EventKind.HA_RESTART, f"{guest.vmid} ({guest.name}) is stopped after the "
                        f"rollback while HA keeps it started: the LRM of {guest.node} starts "
                        "it on its next round", guest.node, guest.id)
            self.ha.services.lrm_later(guest, self.ha.services.lrm_start)

        record.then = ended
        return record

    def snapshot_delete(self, guest_id: str, name: str) -> Task:
        return self._act(guest_id, snapshots.delete, name)

    # --- backups (SupportsBackups) ------------------------------------------------

    def backup_options(self, guest_id: str) -> BackupOptions:
        with self._lock:
            self.sim.advance()
            return backups.options(self.sim, self.sim.guest(guest_id))

    def backups(self, guest_id: str) -> list[Backup]:
        with self._lock:
            self.sim.advance()
            return backups.listing(self.sim, self.sim.guest(guest_id))

    def backup(self, guest_id: str, spec: BackupSpec) -> Task:
        return self._act(guest_id, backups.backup, spec)

    def backup_restore(self, guest_id: str, spec: RestoreSpec) -> Task:
        return self._act(guest_id, backups.restore, spec)

    def backup_delete(self, guest_id: str, backup_id: str) -> Task:
        return self._act(guest_id, backups.delete, backup_id)

    def migration_targets(self, guest_id: str) -> list[MigrationTarget]:
        with self._lock:
            self.sim.advance()
            return migration.targets(self.sim, self.sim.guest(guest_id))

    def migrate(self, guest_id: str, node: str, mode: MigrationMode,
                with_local_disks: bool = False) -> Task:
        """Migrate a guest; an HA-managed one through the HA manager (its next rounds)."""
        if self._ha_managed(guest_id):
            return self._act(guest_id, lambda sim, guest: ha_admin.ha_move(
                sim, self.ha, guest, node, relocate=False))
        return self._act(guest_id, migration.migrate, node, mode, with_local_disks)

    def ha_relocate(self, guest_id: str, node: str) -> Task:
        """`ha-manager relocate`: stop the service, move it, start it on `node`."""
        return self._act(guest_id, lambda sim, guest: ha_admin.ha_move(
            sim, self.ha, guest, node, relocate=True))

    # --- high availability ----------------------------------------------------------

    def ha_set(self, guest_id: str, settings: HASettings) -> Task:
        return self._act(guest_id, lambda sim, guest: ha_admin.ha_set(
            sim, self.ha, guest, settings))

    def ha_remove(self, guest_id: str) -> Task:
        return self._act(guest_id, lambda sim, guest: ha_admin.ha_remove(sim, self.ha, guest))

    def ha_groups(self) -> list[str]:
        with self._lock:
            return sorted(self.sim.groups)

    def set_maintenance(self, node: str, enabled: bool) -> None:
        """Put a node into HA maintenance (drained by migration) or take it out."""
        with self._lock:
            self.sim.advance()
            ha_admin.set_maintenance(self.sim, self.ha, self.sim.node(node), enabled)
            self.sim.settle()

    def reboot_node(self, node: str) -> None:
        """Reboot a node as an admin does; its HA services follow the shutdown policy
        (Proxmox's default, conditional: they freeze)."""
        self._node_admin(lambda: ha_admin.shutdown_node(self.sim, self.ha,
                                                        self.sim.node(node), reboot=True))

    def shutdown_node(self, node: str) -> None:
        """Shut a node down as an admin does; its HA services follow the shutdown
        policy (conditional: they are recovered elsewhere after the fence delay)."""
        self._node_admin(lambda: ha_admin.shutdown_node(self.sim, self.ha,
                                                        self.sim.node(node), reboot=False))

    def set_shutdown_policy(self, policy: str) -> None:
        """conditional, freeze, failover or migrate (datacenter.cfg's ha option)."""
        self._node_admin(lambda: ha_admin.set_shutdown_policy(self.sim, self.ha, policy))

    def restart_lrm(self, node: str) -> None:
        """Restart a node's LRM: its HA services freeze (running on) until it is back."""
        self._node_admin(lambda: ha_lrm.restart_lrm(self.ha, self.sim.node(node)))

    def restart_crm(self, node: str) -> None:
        """Restart a node's CRM: a master releases the manager lock on the way."""
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
        self._node_admin(lambda: ha_admin.skip_rounds(self.sim, self.ha, what, rounds))

    # --- hardware (SupportsHardware) ---------------------------------------------------

    def hardware(self, guest_id: str) -> GuestHardware:
        with self._lock:
            self.sim.advance()
            return hardware.read(self.sim, self.sim.guest(guest_id))

    def set_vcpus(self, guest_id: str, count: int) -> Task:
        return self._act(guest_id, hardware.apply, "vcpus", HardwareChange(vcpus=count))

    def set_memory(self, guest_id: str, size: int) -> Task:
        return self._act(guest_id, hardware.apply, "memory", HardwareChange(memory=size))

    def grow_disk(self, guest_id: str, disk: str, size: int) -> Task:
        return self._act(guest_id, hardware.apply, "resize", HardwareChange(disks={disk: size}))

    def set_link(self, guest_id: str, nic: str, up: bool) -> Task:
        return self._act(guest_id, hardware.apply, "link", HardwareChange(links={nic: up}))

    def lock_guest(self, guest_id: str, lock: str | None) -> Task:
        """Set a guest's config lock (`qm set --lock`), or remove it (None: `qm unlock`)."""
        return self._act(guest_id, ha_admin.set_lock, lock)

    def ha_rules(self) -> list[ResourceAffinity]:
        """The resource-affinity rules (keep together, keep apart)."""
        with self._lock:
            return list(self.sim.affinity_rules)

    def ha_rule_set(self, name: str, resources: list[str], positive: bool) -> None:
        """Add or replace a resource-affinity rule over guest ids (qemu/100, lxc/200)."""
        self._node_admin(lambda: ha_admin.rule_set(self.sim, self.ha, ResourceAffinity(
            name, tuple(resources), positive)))

    def ha_rule_remove(self, name: str) -> None:
        self._node_admin(lambda: ha_admin.rule_remove(self.sim, name))

    def ha_group_set(self, name: str, priorities: dict[str, int], restricted: bool = False,
                     nofailback: bool = False) -> None:
        """Add or change an HA group: node -> priority (higher preferred)."""
        self._node_admin(lambda: ha_admin.group_set(self.sim, HAGroup(
            name, dict(priorities), restricted, nofailback)))

    def placement(self, guest_id: str) -> list[str]:
        """Where the HA manager would place the guest now, node by node: its score or
        the rule that leaves it out (crm_simulate -s's view)."""
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
        with self._lock:
            self.sim.advance()
            head = balance.summary(self.ha)
            return [head] + [balance.describe(m, self.sim.guests) for m in balance.plan(self.ha)]

    def placement_rules(self) -> Rules:
        """HA services' groups and affinity as the CRM applies them; HA services left
        to the CRS while its auto-rebalance is on."""
        with self._lock:
            self.sim.advance()
            return balance.placement_rules(self.ha)

    def crs_apply(self, count: int = 1) -> int:
        """Apply the first `count` allowed recommendations; returns how many."""
        with self._lock:
            self.sim.advance()
            moves = balance.apply(self.ha, count)
            self.sim.settle()
            return len(moves)

    def set_crs(self, mode: str = "basic", auto_rebalance: bool = False,
                threshold: float = 20.0, hold: int = 3, margin: float = 5.0) -> None:
        """The scheduler (basic, static, dynamic) and auto-rebalance's threshold
        (percent points), hold (CRM rounds) and margin (percent points)."""
        self._node_admin(lambda: balance.configure(self.ha, mode, auto_rebalance,
                                                   threshold, hold, margin))

    def set_fault_tolerance(self, guest_id: str, secondary: str | None) -> None:
        """Make a running VM fault tolerant with its shadow copy on `secondary`, or
        (None) turn FT off. Refused with the course's reasons (10 Gbit link, 4 FT VMs
        and 8 FT vCPUs per host, not an HA resource)."""
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
        with self._lock:
            self.sim.advance()
            return ft.status(self.sim, self.sim.guest(guest_id))

    def disarm_ha(self, mode: str) -> None:
        """`ha-manager crm-command disarm-ha freeze|ignore` (PVE 9.2)."""
        self._node_admin(lambda: ha_disarm.request_disarm(self.ha, mode))

    def arm_ha(self) -> None:
        """`ha-manager crm-command arm-ha`."""
        self._node_admin(lambda: ha_disarm.request_arm(self.ha))

    def ha_status(self) -> list[str]:
        """`ha-manager status`, line by line (fencing: armed or standby)."""
        with self._lock:
            self.sim.advance()
            return ha_admin.status(self.sim, self.ha)

    def _node_admin(self, action: Callable[[], None]) -> None:
        with self._lock:
            self.sim.advance()
            action()
            self.sim.settle()

    def inject_fault(self, node: str, fault: FaultKind) -> None:
        with self._lock:
            self.sim.advance()
            faults.inject(self.sim, self.ha, self.sim.node(node), fault)
            self.sim.settle()

    def partition(self, groups: list[list[str]]) -> None:
        with self._lock:
            self.sim.advance()
            faults.partition(self.sim, self.ha, groups)
            self.sim.settle()

    def restore(self, node: str | None = None) -> None:
        with self._lock:
            self.sim.advance()
            faults.restore(self.sim, self.ha, None if node is None else self.sim.node(node))
            self.sim.settle()

    # --- the console's HA rule, CRS and FT screens (backends/ha_config.py) -------------

    def ha_config(self) -> HARules:
        """Every HA rule, and the nodes and guests a rule may name."""
        with self._lock:
            self.sim.advance()
            return ha_config.read(self.sim)

    def ha_node_affinity_set(self, name: str, nodes: dict[str, int], positive: bool,
                             strict: bool, nofailback: bool, resources: list[str]) -> None:
        """Add or replace a node-affinity rule (an HA group) after Proxmox's checks."""
        self._node_admin(lambda: ha_config.node_affinity_set(self.sim, NodeAffinityRule(
            name, dict(nodes), positive, strict, nofailback, tuple(resources))))

    def ha_node_affinity_remove(self, name: str) -> None:
        self._node_admin(lambda: ha_config.node_affinity_remove(self.sim, name))

    def ha_resource_affinity_set(self, name: str, resources: list[str],
                                 positive: bool) -> None:
        """`ha_rule_set` after Proxmox's checks: HA resources only, no contradiction."""
        self._node_admin(lambda: ha_config.resource_affinity_set(
            self.sim, self.ha, ResourceAffinityRule(name, tuple(resources), positive)))

    def crs_settings(self) -> CRSView:
        with self._lock:
            return ha_config.crs_view(self.ha)

    def ft_limits(self, guest_id: str) -> FTLimits:
        with self._lock:
            self.sim.advance()
            return ft.limits(self.sim, self.sim.guest(guest_id))
