"""`SimBackend`: the simulated cluster behind the backend protocol.

Every public method takes the lock, processes the events due up to the clock's present,
then answers; so the model needs no thread of its own and a `ManualClock` drives it
deterministically in tests.
"""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from vmconsole.backends.abilities import ClusterEvent
from vmconsole.backends.base import (
    Capabilities,
    InvalidInput,
    MetricSample,
    MigrationMode,
    MigrationTarget,
    NotFound,
    NotSupported,
    Task,
)
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim.clock import RealClock, SimClock
from vmconsole.backends.sim.cluster_admin import ClusterAdmin
from vmconsole.backends.sim.collector import collector_paused
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.ha import HAManager
from vmconsole.backends.sim.inventory import InventoryBuilder, report_interval
from vmconsole.backends.sim.lab import build_classic_lab, build_generated
from vmconsole.backends.sim.state import SimGuest, Votequorum
from vmconsole.config import SimCluster
from vmconsole.config.sim_limits import shape_refusals, time_scale_refusal
from vmconsole.model import HARequest, HAState, Inventory

if TYPE_CHECKING:
    from vmconsole.backends.backups import Backup, BackupOptions, BackupSpec, RestoreSpec
    from vmconsole.backends.clones import CloneSpec
    from vmconsole.backends.hardware import GuestHardware
    from vmconsole.backends.sim.tasks import TaskRecord
    from vmconsole.model.snapshots import Snapshot

# The operations' modules (power, clones, snapshots, backups, migration, hardware, HA
# admin, removal) and the scenarios are imported by the methods that use them: the
# first screen needs only the build and the inventory (issue 12).

CAPABILITIES = Capabilities(
    vmids=True, containers=True, templates=True, snapshots=True, snapshot_ram=True,
    linked_clone=True, live_migration=True, ha=True, history=False, faults=True,
    time_control=True, hardware=True, backups=True, destroy=True,
)


class SimBackend(ClusterAdmin):
    """The protocol's read side, time, power, clones, snapshots, backups, migration and
    hardware; the HA, CRS, FT and fault controls are `ClusterAdmin`'s."""

    def __init__(self, cfg: SimCluster, clock: SimClock | None = None) -> None:
        problems = shape_refusals(cfg.nodes, cfg.guests, cfg.time_scale)
        if problems:
            raise InvalidInput("simulated cluster refused: " + "; ".join(
                f"{k} must be {v}" for k, v in problems.items()), problems)
        self.clock = clock if clock is not None else RealClock(cfg.time_scale)
        self._lock = threading.RLock()
        self._probe_rng = random.Random(f"{cfg.seed}:probe")
        self._build(cfg, first_event=0)

    @collector_paused()
    def _build(self, cfg: SimCluster, first_event: int, replaced: Sim | None = None) -> None:
        """Build `cfg`'s cluster; `replaced`: the model it replaces, whose task log it
        keeps (`Sim.inherit_tasks`)."""
        scenario = None
        if cfg.scenario is not None:
            # Scenarios, lessons and pve-ha-manager test directories: loaded only for
            # them, not before every console's first screen.
            from vmconsole.backends.sim.lesson import is_lesson_path, load_lesson
            from vmconsole.backends.sim.scenarios import SCENARIOS, ScenarioRun

            scenario = SCENARIOS.get(cfg.scenario)
            if scenario is None and is_lesson_path(cfg.scenario):
                scenario = load_lesson(Path(cfg.scenario))
            if scenario is None:
                raise NotFound(f"no scenario '{cfg.scenario}' (scenarios: "
                               f"{', '.join(SCENARIOS)}; or a lesson file or a "
                               "pve-ha-manager test directory)")
        self.cfg = cfg
        self.sim = Sim(self.clock, cfg.seed, cfg.name, first_event)
        if replaced is not None:
            self.sim.inherit_tasks(replaced, "the cluster was replaced by " + (
                "the classic lab" if cfg.scenario is None else f"scenario {cfg.scenario}"))
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
        self.sim.settle(built=True)
        self.ha = (HAManager(self.sim) if scenario is None
                   else HAManager(self.sim, scenario.ha_cadence))
        if scenario is not None:
            if scenario.node_boot is not None:
                self.ha.node_boot = scenario.node_boot
            if scenario.os_shutdown is not None:
                self.ha.os_shutdown = scenario.os_shutdown
            self.ha.reset_reboots = scenario.reset_reboots
            self.ha.shutdown_policy = scenario.shutdown_policy
            if scenario.crs is not None:
                self.ha.crs = replace(scenario.crs)
        self.scenario = None if scenario is None else ScenarioRun(scenario, self.sim, self.ha)
        self._inventory = InventoryBuilder(self.sim, self.sim.load,
                                           report_interval(len(self.sim.guests)))

    def scenarios(self) -> list[tuple[str, str]]:
        from vmconsole.backends.sim.scenarios import describe  # loaded when used
        return describe()

    def start_scenario(self, name: str | None) -> None:
        """Replace the cluster by a scenario's (None: the classic lab), on the same clock.

        Event numbers go on from the old model's, so a poller keeps reading them; every
        console sharing this backend sees the new cluster at its next poll. The old
        model's tasks stay listed, those still running ended as errors.
        """
        with self._lock:
            self.sim.advance()
            last_event = self.sim.events[-1].seq if self.sim.events else 0
            self._build(replace(self.cfg, scenario=name, guests=0, nodes=3), last_event,
                        self.sim)
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
        from vmconsole.backends.sim import clones  # loaded when used
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
        """Run the clock `scale` times real time (0 pauses it). Raises InvalidInput below
        0 and above `max_time_scale` of this cluster's nodes and guests, which the model
        could not keep up with."""
        reason = time_scale_refusal(scale, len(self.sim.nodes), len(self.sim.guests))
        if reason is not None:
            raise InvalidInput(f"time scale must be {reason}", {"time_scale": reason})
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

    def _ha_managed(self, guest_id: str) -> bool:
        with self._lock:
            ha = self.sim.guest(guest_id).ha
            return ha is not None and ha.request is not HARequest.IGNORED

    def _ha_power(self, guest_id: str, request: HARequest, operation: str) -> Task:
        from vmconsole.backends.sim import ha_admin, power  # loaded when used
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
        from vmconsole.backends.sim import power  # loaded when used
        if self._ha_managed(guest_id):
            return self._ha_power(guest_id, HARequest.STARTED, "start")
        return self._act(guest_id, power.start)

    def shutdown(self, guest_id: str, timeout: float = 60.0) -> Task:
        from vmconsole.backends.sim import power  # loaded when used
        if self._ha_managed(guest_id):
            return self._ha_power(guest_id, HARequest.STOPPED, "shutdown")
        return self._act(guest_id, power.shutdown, timeout)

    def stop(self, guest_id: str) -> Task:
        from vmconsole.backends.sim import power  # loaded when used
        if self._ha_managed(guest_id):
            return self._ha_power(guest_id, HARequest.STOPPED, "stop")
        return self._act(guest_id, power.stop)

    def reboot(self, guest_id: str) -> Task:
        from vmconsole.backends.sim import power  # loaded when used
        return self._act(guest_id, power.reboot)

    def clone(self, guest_id: str, spec: CloneSpec) -> Task:
        from vmconsole.backends.sim import clones  # loaded when used
        return self._act(guest_id, clones.clone, spec)

    def convert_to_template(self, guest_id: str) -> Task:
        from vmconsole.backends.sim import clones  # loaded when used
        return self._act(guest_id, clones.convert_to_template)

    def destroy(self, guest_id: str) -> Task:
        """Delete a stopped guest that is no HA resource, and its disks."""
        from vmconsole.backends.sim import removal  # loaded when used
        return self._act(guest_id, removal.destroy)

    def snapshots(self, guest_id: str) -> list[Snapshot]:
        from vmconsole.backends.sim import snapshots  # loaded when used
        with self._lock:
            self.sim.advance()
            return snapshots.listing(self.sim.guest(guest_id))

    def snapshot_create(self, guest_id: str, name: str, description: str = "",
                        vmstate: bool = False) -> Task:
        from vmconsole.backends.sim import snapshots  # loaded when used
        return self._act(guest_id, snapshots.create, name, description, vmstate)

    def snapshot_rollback(self, guest_id: str, name: str) -> Task:
        return self._act(guest_id, self._rollback, name)

    def _rollback(self, sim: Sim, guest: SimGuest, name: str) -> TaskRecord:
        """A rollback to a snapshot without RAM leaves the guest stopped. If the HA
        manager keeps it in state started, the LRM of its node finds it stopped on its
        next round and starts it again, as pve-ha-lrm does for any started service."""
        from vmconsole.backends.sim import snapshots  # loaded when used
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
        from vmconsole.backends.sim import snapshots  # loaded when used
        return self._act(guest_id, snapshots.delete, name)

    # --- backups (SupportsBackups) ------------------------------------------------

    def backup_options(self, guest_id: str) -> BackupOptions:
        from vmconsole.backends.sim import backups  # loaded when used
        with self._lock:
            self.sim.advance()
            return backups.options(self.sim, self.sim.guest(guest_id))

    def backups(self, guest_id: str) -> list[Backup]:
        from vmconsole.backends.sim import backups  # loaded when used
        with self._lock:
            self.sim.advance()
            return backups.listing(self.sim, self.sim.guest(guest_id))

    def backup(self, guest_id: str, spec: BackupSpec) -> Task:
        from vmconsole.backends.sim import backups  # loaded when used
        return self._act(guest_id, backups.backup, spec)

    def backup_restore(self, guest_id: str, spec: RestoreSpec) -> Task:
        from vmconsole.backends.sim import backups  # loaded when used
        return self._act(guest_id, backups.restore, spec)

    def backup_delete(self, guest_id: str, backup_id: str) -> Task:
        from vmconsole.backends.sim import backups  # loaded when used
        return self._act(guest_id, backups.delete, backup_id)

    def migration_targets(self, guest_id: str) -> list[MigrationTarget]:
        """Every node with whether the guest may go there; for an HA guest, an allowed
        target its group does not prefer says that the CRM moves it back."""
        from vmconsole.backends.sim import migration  # loaded when used
        with self._lock:
            self.sim.advance()
            guest = self.sim.guest(guest_id)
            targets = migration.targets(self.sim, guest)
            if not self._ha_managed(guest_id):
                return targets
            services = self.ha.services
            return [replace(t, reason="; ".join(filter(None, (t.reason, note))))
                    if t.allowed and (note := services.failback(guest, t.node)) else t
                    for t in targets]

    def migrate(self, guest_id: str, node: str, mode: MigrationMode,
                with_local_disks: bool = False) -> Task:
        """Migrate a guest; an HA-managed one through the HA manager (its next rounds)."""
        from vmconsole.backends.sim import ha_admin, migration  # loaded when used
        if self._ha_managed(guest_id):
            return self._act(guest_id, lambda sim, guest: ha_admin.ha_move(
                sim, self.ha, guest, node, relocate=False))
        return self._act(guest_id, migration.migrate, node, mode, with_local_disks)

    def ha_relocate(self, guest_id: str, node: str) -> Task:
        """`ha-manager relocate`: stop the service, move it, start it on `node`."""
        from vmconsole.backends.sim import ha_admin  # loaded when used
        return self._act(guest_id, lambda sim, guest: ha_admin.ha_move(
            sim, self.ha, guest, node, relocate=True))

    # --- hardware (SupportsHardware) ---------------------------------------------------

    def hardware(self, guest_id: str) -> GuestHardware:
        from vmconsole.backends.sim import hardware  # loaded when used
        with self._lock:
            self.sim.advance()
            return hardware.read(self.sim, self.sim.guest(guest_id))

    def set_vcpus(self, guest_id: str, count: int) -> Task:
        from vmconsole.backends.hardware import HardwareChange  # loaded when used
        from vmconsole.backends.sim import hardware  # loaded when used
        return self._act(guest_id, hardware.apply, "vcpus", HardwareChange(vcpus=count))

    def set_memory(self, guest_id: str, size: int) -> Task:
        from vmconsole.backends.hardware import HardwareChange  # loaded when used
        from vmconsole.backends.sim import hardware  # loaded when used
        return self._act(guest_id, hardware.apply, "memory", HardwareChange(memory=size))

    def grow_disk(self, guest_id: str, disk: str, size: int) -> Task:
        from vmconsole.backends.hardware import HardwareChange  # loaded when used
        from vmconsole.backends.sim import hardware  # loaded when used
        return self._act(guest_id, hardware.apply, "resize", HardwareChange(disks={disk: size}))

    def set_link(self, guest_id: str, nic: str, up: bool) -> Task:
        from vmconsole.backends.hardware import HardwareChange  # loaded when used
        from vmconsole.backends.sim import hardware  # loaded when used
        return self._act(guest_id, hardware.apply, "link", HardwareChange(links={nic: up}))

    def lock_guest(self, guest_id: str, lock: str | None) -> Task:
        """Set a guest's config lock (`qm set --lock`), or remove it (None: `qm unlock`)."""
        from vmconsole.backends.sim import ha_admin  # loaded when used
        return self._act(guest_id, ha_admin.set_lock, lock)
