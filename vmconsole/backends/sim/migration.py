"""Migration: which nodes a guest may go to and why not, and the three ways it goes.

Live (a running VM): QEMU's iterative pre-copy. Round 1 sends the guest's memory over
the migration link while the guest runs and dirties pages; each next round sends what
the last one dirtied, until the rest fits into the downtime limit; then the VM pauses
(stop-and-copy), the rest and the device state go over, and it resumes on the target.
The guest is unreachable only during that pause: tens to hundreds of milliseconds.
Restart (a running container): shut down, move (copy local disks), start, boot: down
for seconds. Offline (a stopped guest): move the config, copy local disks if asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vmconsole.backends.base import (
    InvalidInput,
    MigrationMode,
    MigrationTarget,
    NotSupported,
    TaskStatus,
)
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.guards import (
    claim,
    ensure_free,
    ensure_quorate,
    label,
    quorate_in,
    release,
    storage_error,
)
from vmconsole.backends.sim.inventory import NODE_BASE_MEM
from vmconsole.backends.sim.membership import quorum_by_node
from vmconsole.backends.sim.power import START_SECONDS, power_on
from vmconsole.backends.sim.state import GiB, MiB, SimGuest
from vmconsole.backends.sim.tasks import TaskRecord
from vmconsole.model import GuestKind, HAState

LINK_SPEED = 112 * MiB  # a 1 Gbit/s migration network, after protocol overhead
MAX_DOWNTIME = 0.1  # Proxmox's default migrate_downtime, seconds
SETUP_SECONDS = 1.5  # start the target QEMU, open the tunnel
MAX_ROUNDS = 30
CONFIG_MOVE_SECONDS = 1.0


def _gib(size: float) -> str:
    return f"{size / GiB:.1f} GiB"


def _mib(size: float) -> str:
    return f"{size / MiB:.1f} MiB"


def free_memory(sim: Sim, node: str) -> int:
    guests = sim.guests
    # A list, not a generator: a rebalance plan sums 100 nodes' guests for every guest.
    reserved = sum([guest.maxmem for guest_id in sim.nodes[node].instances
                    if (guest := guests.get(guest_id)) is not None])
    return sim.nodes[node].maxmem - NODE_BASE_MEM - reserved


def local_disks(sim: Sim, guest: SimGuest) -> tuple[str, ...]:
    return tuple(f"{d.key} on {d.storage}" for d in guest.disks if not sim.is_shared(d.storage))


def targets(sim: Sim, guest: SimGuest) -> list[MigrationTarget]:
    """Every node, whether `guest` may migrate there now, and why not (or how it goes).

    Membership is read once for all nodes: read per node, a plan's check of each of
    10,000 guests on 100 nodes cost 20,000 node walks a guest (issue 12's rebalance)."""
    running = sim.running_on_own_node(guest) is not None
    local = local_disks(sim, guest)
    quorum = quorum_by_node(sim)
    out = []
    for name, node in sim.nodes.items():
        reason, allowed = "", False
        if name == guest.node:
            reason = "the guest is on this node"
        elif not node.alive or not quorate_in(quorum, name) or not quorate_in(quorum, guest.node):
            reason = f"node '{name}' is offline or without quorum"
        elif node.maintenance:
            reason = f"node '{name}' is in maintenance mode"
        elif running and (free := free_memory(sim, name)) < guest.maxmem:
            reason = (f"not enough memory: needs {_gib(guest.maxmem)}, "
                      f"{_gib(max(0, free))} free")
        elif (error := storage_error(sim, guest, name, copying_local=True)) is not None:
            reason = error
        elif running and local and guest.kind is GuestKind.VM:
            reason = (f"local disk {local[0]}: live migration refused; shut the VM down "
                      "and migrate it offline with its disks")
        else:
            allowed = True
            if running and guest.kind is GuestKind.CT:
                reason = "containers migrate in restart mode: stopped, moved, started"
            elif local:
                reason = f"local disks are copied: {', '.join(local)}"
        out.append(MigrationTarget(name, allowed, reason, local))
    return out


def migrate(sim: Sim, guest: SimGuest, node: str, mode: MigrationMode,
            with_local_disks: bool) -> TaskRecord:
    """Migrate the guest to `node` (an HA-managed guest is moved by the HA manager, which
    calls this at its LRM's round: `ha_admin.ha_move`)."""
    if node not in sim.nodes:
        raise InvalidInput(f"no node '{node}'", {"node": f"no node '{node}'"})
    ensure_free(guest, sim)
    ensure_quorate(sim, guest.node)
    target = next(t for t in targets(sim, guest) if t.node == node)
    if not target.allowed:
        raise InvalidInput(f"cannot migrate {label(guest)} to {node}: {target.reason}",
                           {"node": target.reason})
    running = sim.running_on_own_node(guest) is not None
    expected = (MigrationMode.OFFLINE if not running else
                MigrationMode.LIVE if guest.kind is GuestKind.VM else MigrationMode.RESTART)
    if mode is not expected:
        if guest.kind is GuestKind.CT and mode is MigrationMode.LIVE:
            raise NotSupported("containers cannot migrate live (there is no CRIU in "
                               "Proxmox VE): use restart mode")
        state = "running" if running else "stopped"
        raise InvalidInput(f"{label(guest)} is {state}: migrate it in {expected} mode",
                           {"mode": f"{state} guest: {expected} mode"})
    if target.local_disks and not with_local_disks:
        raise InvalidInput(f"{label(guest)} has local disks ({', '.join(target.local_disks)})"
                           ": migrate with its local disks to copy them",
                           {"with_local_disks": "needed: the guest has local disks"})
    task = sim.new_task("migrate", guest.id, guest.node)
    claim(sim, guest, task, lock="migrate")
    if guest.ha is not None:
        guest.ha.state = HAState.MIGRATE if guest.kind is GuestKind.VM else HAState.RELOCATE
    source = guest.node
    task.log.append(f"starting migration of {label(guest)} to node '{node}' "
                    f"({sim.nodes[node].address})")
    sim.narrate(EventKind.MIGRATION_STARTED,
                f"{mode} migration of {guest.vmid} ({guest.name}) from "
                f"{source} to {node} started", source, guest.id)
    run = MigrationRun(sim, guest, task, source, node)
    if mode is MigrationMode.LIVE:
        run.live()
    elif mode is MigrationMode.RESTART:
        run.restart()
    else:
        run.offline()
    return task


@dataclass
class MigrationRun:
    """One simulated migration of `guest` from node `source` to `target`, carried out
    step by step on the simulator's clock under `task`."""

    sim: Sim
    guest: SimGuest
    task: TaskRecord
    source: str
    target: str

    # --- common -------------------------------------------------------------------

    def broken(self) -> str | None:
        """Why the migration cannot go on, or None."""
        src, dst = self.sim.nodes[self.source], self.sim.nodes[self.target]
        if not dst.alive:
            return f"target node '{self.target}' went down"
        if not src.alive:
            return f"source node '{self.source}' went down"
        if not (src.net_up and dst.net_up and src.partition == dst.partition):
            return f"lost the network between {self.source} and {self.target}"
        return None

    def step(self, at: float, then: Callable[[], None]) -> None:
        """Run `then` at time `at` unless the migration broke meanwhile."""
        def guarded() -> None:
            if self.task.status.done:
                return
            reason = self.broken()
            if reason is None:
                then()
            else:
                self.fail(reason)
        self.sim.at(at, guarded)

    def fail(self, reason: str) -> None:
        sim, guest = self.sim, self.guest
        incoming = sim.nodes[self.target].instances.get(guest.id)
        if incoming is not None and incoming.incoming:
            sim.end_instance(guest.id, self.target)
        if sim.nodes[self.source].instances.get(guest.id) is not None:
            sim.nodes[self.source].instances[guest.id].paused = False
            sim.touch(guest.id)
        if guest.ha is not None:
            guest.ha.state = HAState.STARTED
        release(sim, guest, self.task)
        self.task.finish(sim.now, TaskStatus.ERROR, f"migration aborted: {reason}")
        sim.narrate(EventKind.MIGRATION_FAILED, f"migration of {guest.vmid} to {self.target} "
                    f"aborted: {reason}", self.source, guest.id)

    def move_config(self) -> None:
        """The guest's config, and any local volumes copied over, now belong to the
        target."""
        if self.guest.ha is not None:
            self.sim.nodes[self.guest.node].lrm.service_left(self.sim.now)
        self.guest.node = self.target
        for disk in self.guest.disks:
            if disk.node is not None:
                disk.node = self.target
        self.sim.volumes_changed()
        self.sim.touch(self.guest.id)

    def arrive(self, **result: object) -> None:
        sim, guest = self.sim, self.guest
        self.move_config()
        if guest.ha is not None:
            guest.ha.state = HAState.STARTED
        release(sim, guest, self.task)
        self.task.result.update(result)
        duration = sim.now - self.task.started
        self.task.log.append(f"migration finished successfully (duration "
                             f"{int(duration // 3600):02d}:{int(duration % 3600 // 60):02d}:"
                             f"{int(duration % 60):02d})")
        self.task.finish(sim.now)

    def copy_seconds(self) -> float:
        """Time to copy the guest's local disks to the target."""
        sim, guest = self.sim, self.guest
        local = [d for d in guest.disks if not sim.is_shared(d.storage)]
        if not local:
            return 0.0
        size = sum(d.size for d in local) * guest.disk_used_fraction
        target_speed = min(s.write_speed for s in sim.storages
                           if s.node == self.target and any(d.storage == s.name for d in local))
        speed = min(LINK_SPEED, target_speed)
        self.task.log.append(f"copying local disks ({_gib(size)} used) at "
                             f"{speed / MiB:.0f} MiB/s")
        return size / speed

    # --- live ---------------------------------------------------------------------

    def plan(self) -> tuple[list[float], float]:
        """Bytes sent in each pre-copy round, and the bytes left for stop-and-copy."""
        sim, guest = self.sim, self.guest
        profile = sim.load.profile(guest.load_index)
        used = guest.maxmem * profile.mem_fraction
        dirty_rate = (4 + 120 * profile.cpu_mean) * MiB * sim.rng.uniform(0.8, 1.25)
        working_set = used * 0.25  # a round cannot dirty more than the busy pages
        rounds = [used]
        while True:
            dirty = min(dirty_rate * rounds[-1] / LINK_SPEED, working_set)
            if dirty <= LINK_SPEED * MAX_DOWNTIME or len(rounds) >= MAX_ROUNDS:
                return rounds, dirty
            if len(rounds) >= 5 and dirty > 0.8 * rounds[-1]:
                dirty_rate *= 0.5  # auto-converge: QEMU throttles the guest's vCPUs
            rounds.append(dirty)

    def live(self) -> None:
        sim, guest, task = self.sim, self.guest, self.task
        sim.start_instance(guest.id, self.target, incoming=True)
        task.log += [f"starting VM {guest.vmid} on remote node '{self.target}'",
                     "start remote tunnel",
                     f"starting online/live migration on tcp:{sim.nodes[self.target].address}"
                     ":60000",
                     f"migration downtime limit: {MAX_DOWNTIME * 1000:.0f} ms"]
        rounds, final = self.plan()
        switchover = sim.rng.uniform(0.025, 0.06)  # device state, resume, ARP announce
        downtime = final / LINK_SPEED + switchover
        precopy = sum(rounds) / LINK_SPEED
        total = SETUP_SECONDS + precopy + downtime
        task.progress_at = lambda now: (now - task.started) / total
        t = sim.now + SETUP_SECONDS
        sent = 0.0
        for number, size in enumerate(rounds, 1):
            def round_starts(number: int = number, size: float = size,
                             sent: float = sent) -> None:
                task.log.append(f"migration active, round {number}: sending "
                                f"{_mib(size)} ({_mib(sent)} of "
                                f"{_mib(sum(rounds) + final)} transferred so far)")
                what = ("the guest's memory" if number == 1 else
                        f"{_mib(size)} dirty")
                sim.narrate(EventKind.PRECOPY_ROUND, f"migration of {guest.vmid} to {self.target}: "
                            f"round {number}, {what}", self.source, guest.id)
            self.step(t, round_starts)
            t += size / LINK_SPEED
            sent += size

        def stop_and_copy() -> None:
            sim.nodes[self.source].instances[guest.id].paused = True
            sim.touch(guest.id)
            task.log.append(f"stop-and-copy: VM paused, sending the last {_mib(final)} "
                            "and the device state")
            sim.narrate(EventKind.STOP_AND_COPY, f"stop-and-copy: {guest.vmid} paused on "
                        f"{self.source}, last {_mib(final)} going to {self.target}",
                        self.source, guest.id)

        def resumed() -> None:
            sim.end_instance(guest.id, self.source)
            sim.resume_incoming(guest.id, self.target)
            ms = round(downtime * 1000)
            transferred = (sum(rounds) + final) / MiB
            task.log += [f"average migration speed: {LINK_SPEED / MiB:.1f} MiB/s - "
                         f"downtime {ms} ms", "migration status: completed"]
            sim.narrate(EventKind.MIGRATION_DONE, f"migration of {guest.vmid} done: runs on "
                        f"{self.target}, downtime {ms} ms after {len(rounds)} rounds",
                        self.target, guest.id)
            self.arrive(downtime_ms=ms, transferred_mib=round(transferred, 1),
                        rounds=len(rounds))

        self.step(t, stop_and_copy)
        self.step(t + downtime, resumed)

    # --- restart and offline --------------------------------------------------------

    def restart(self) -> None:
        sim, guest, task = self.sim, self.guest, self.task
        task.log.append(f"shutdown CT {guest.vmid} (restart mode: down until it boots on "
                        f"'{self.target}')")
        off_at = sim.now + guest.shutdown_seconds

        def off() -> None:
            sim.end_instance(guest.id, self.source)
            sim.narrate(EventKind.CONTAINER_STOPPED,
                        f"CT {guest.vmid} stopped on {self.source} for "
                        f"the move to {self.target}", self.source, guest.id)
            moved_at = sim.now + self.copy_seconds() + CONFIG_MOVE_SECONDS
            self.step(moved_at, moved)

        def moved() -> None:
            self.move_config()
            task.log.append(f"starting CT {guest.vmid} on '{self.target}'")
            self.step(sim.now + START_SECONDS[guest.kind], started)

        def started() -> None:
            power_on(sim, guest, self.target)
            downtime = sim.now + guest.boot_seconds - off_at
            ms = round(downtime * 1000)
            sim.narrate(EventKind.MIGRATION_DONE, f"CT {guest.vmid} restarted on {self.target}: "
                        f"down {downtime:.1f} s (stop, move, start, boot)", self.target,
                        guest.id)
            self.arrive(downtime_ms=ms)

        task.progress_at = lambda now: (now - task.started) / (
            guest.shutdown_seconds + CONFIG_MOVE_SECONDS + START_SECONDS[guest.kind])
        self.step(off_at, off)

    def offline(self) -> None:
        sim, guest, task = self.sim, self.guest, self.task
        seconds = self.copy_seconds() + CONFIG_MOVE_SECONDS
        task.progress_at = lambda now: (now - task.started) / seconds

        def moved() -> None:
            task.log.append(f"moving the configuration of {label(guest)} to '{self.target}'")
            sim.narrate(EventKind.MIGRATION_DONE, f"{guest.vmid} moved to {self.target} (offline)",
                        self.target, guest.id)
            self.arrive()

        self.step(sim.now + seconds, moved)
