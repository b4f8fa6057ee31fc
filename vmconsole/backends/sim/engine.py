"""The discrete-event core: a queue of timed callbacks, the event log, the task list,
and the record of where each guest ran and when it answered on the network.

Nothing runs in the background. Every public call of the backend first processes the
events due up to the clock's `now()` (lazy advance), so the model is exact to the float
second whatever the time scale, and a manual clock makes it fully deterministic.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vmconsole.backends.abilities import ClusterEvent
from vmconsole.backends.base import NotFound, TaskStatus
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim.clock import SimClock
from vmconsole.backends.sim.load import LoadModel
from vmconsole.backends.sim.state import (
    HAGroup,
    Instance,
    SimGuest,
    SimNode,
    SimStorage,
    Votequorum,
)

if TYPE_CHECKING:  # each made by the operation or rule that needs it: not by a build
    from vmconsole.backends.sim.backups import SimBackup
    from vmconsole.backends.sim.ft import FTPair
    from vmconsole.backends.sim.ha_rules import ResourceAffinity
    from vmconsole.backends.sim.tasks import TaskRecord

MAX_EVENTS = 5000
MAX_DONE_TASKS = 500


class Timer:
    __slots__ = ("cancelled", "fn", "time")

    def __init__(self, time: float, fn: Callable[[], None]) -> None:
        self.time, self.fn, self.cancelled = time, fn, False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass(slots=True)
class RunInterval:
    """One stretch of a guest running on one node (end None: still running)."""

    guest: str
    node: str
    start: float
    end: float | None = None


class Sim:
    """The world and its clock. Callers hold the backend's lock."""

    def __init__(self, clock: SimClock, seed: int, cluster: str, first_event: int = 0) -> None:
        self.clock = clock
        self.now = clock.now()
        self.seed = seed
        self.cluster = cluster
        self.rng = random.Random(seed)
        self.load = LoadModel(seed)
        self.nodes: dict[str, SimNode] = {}
        self.guests: dict[str, SimGuest] = {}
        self.storages: list[SimStorage] = []
        self.backups: dict[str, SimBackup] = {}  # by volid
        self.groups: dict[str, HAGroup] = {}
        self.qdevice = False
        self.votequorum = Votequorum()
        self.affinity_rules: list[ResourceAffinity] = []  # PVE 9 resource-affinity rules
        self.ft: dict[str, FTPair] = {}  # fault-tolerant VMs by guest id
        self.ft_link_gbit = 1.0  # the link FT checkpoints would use (FT needs 10)
        self.events: list[ClusterEvent] = []
        self.tasks: dict[str, TaskRecord] = {}
        self.reach_log: dict[str, list[tuple[float, bool]]] = {}
        self.run_log: list[RunInterval] = []
        self._queue: list[tuple[float, int, Timer]] = []
        self._seq = 0
        self._event_seq = first_event  # a restarted model continues its predecessor's events
        self._task_serial = 0
        self._dirty: set[str] = set()  # guests whose reachability may have changed
        self.changed_guests: set[str] = set()  # inventory entries to rebuild
        self._reachable: dict[str, bool] = {}
        self._open_runs: dict[tuple[str, str], RunInterval] = {}
        self._usage: dict[tuple[str, str | None], int] | None = None

    # --- time -----------------------------------------------------------------------

    def at(self, time: float, fn: Callable[[], None]) -> Timer:
        timer = Timer(max(time, self.now), fn)
        self._seq += 1
        heapq.heappush(self._queue, (timer.time, self._seq, timer))
        return timer

    def after(self, delay: float, fn: Callable[[], None]) -> Timer:
        return self.at(self.now + delay, fn)

    def advance(self) -> None:
        """Process every event due up to the clock's present."""
        target = self.clock.now()
        queue = self._queue
        while queue and queue[0][0] <= target:
            time, _, timer = heapq.heappop(queue)
            if timer.cancelled:
                continue
            self.now = time
            timer.fn()
            self.settle()
        self.now = max(self.now, target)

    def settle(self, *, built: bool = False) -> None:
        """Record reachability changes of the guests touched since the last call.

        `built`: the cluster was just built, and what answers now is where `reach_log`
        starts, with no entry: its readers (a scenario's outages, the tests) read what
        changed after the start, and a 10,000-guest build made 9,249 lists of one entry
        for them, a third of this call."""
        if not self._dirty:
            return
        known, reachable = self._reachable, self.reachable
        if built:
            for guest_id in self._dirty:
                known[guest_id] = reachable(guest_id)
        else:
            for guest_id in self._dirty:
                now_reachable = reachable(guest_id)
                if known.get(guest_id, False) != now_reachable:
                    known[guest_id] = now_reachable
                    self.reach_log.setdefault(guest_id, []).append((self.now, now_reachable))
        self._dirty.clear()

    # --- lookups --------------------------------------------------------------------

    def guest(self, guest_id: str) -> SimGuest:
        guest = self.guests.get(guest_id)
        if guest is None:
            raise NotFound(f"guest {guest_id} does not exist")
        return guest

    def node(self, name: str) -> SimNode:
        node = self.nodes.get(name)
        if node is None:
            raise NotFound(f"node '{name}' does not exist")
        return node

    def storage(self, name: str, node: str) -> SimStorage | None:
        """The storage called `name` as `node` sees it (shared, or that node's local)."""
        for storage in self.storages:
            if storage.name == name and storage.node in (None, node):
                return storage
        return None

    def is_shared(self, storage: str) -> bool:
        return any(s.shared for s in self.storages if s.name == storage)

    def usage(self) -> dict[tuple[str, str | None], int]:
        """`count_usage()`, kept until `volumes_changed()`: every poll reads it."""
        if self._usage is None:
            self._usage = self.count_usage()
        return self._usage

    def volumes_changed(self) -> None:
        """Call after adding or removing a guest, or moving a volume."""
        self._usage = None

    def count_usage(self) -> dict[tuple[str, str | None], int]:
        """Bytes used per (storage, node or None for shared): thick volumes count in
        full, thin ones by what their guest has written."""
        shared = {s.name for s in self.storages if s.shared}
        thick = {s.name for s in self.storages if s.type == "lvm"}
        used: dict[tuple[str, str | None], int] = {}
        for guest in self.guests.values():
            for disk in guest.disks:
                key = (disk.storage, None if disk.storage in shared else disk.node)
                size = disk.size if disk.storage in thick else int(
                    disk.size * guest.disk_used_fraction)
                used[key] = used.get(key, 0) + size
        for backup in self.backups.values():
            key = (backup.storage, backup.node)
            used[key] = used.get(key, 0) + backup.size
        return used

    def instance(self, guest_id: str) -> tuple[SimNode, Instance] | None:
        """Where the guest runs; a live migration's incoming copy does not count."""
        for node in self.nodes.values():
            inst = node.instances.get(guest_id)
            if inst is not None and not inst.incoming:
                return node, inst
        return None

    def migrating(self, guest_id: str) -> bool:
        """A live migration of the guest has its target waiting for the state."""
        return any(inst.incoming for node in self.nodes.values()
                   if (inst := node.instances.get(guest_id)) is not None)

    def migrating_from(self, node: str) -> bool:
        """A migration is under way from `node` (a guest on it holds a migrate lock)."""
        return any(g.node == node and g.lock == "migrate" for g in self.guests.values())

    def running_on_own_node(self, guest: SimGuest) -> Instance | None:
        inst = self.nodes[guest.node].instances.get(guest.id)
        return None if inst is None or inst.incoming else inst

    # --- instances ------------------------------------------------------------------

    def start_instance(self, guest_id: str, node: str, *, booted: bool = False,
                       incoming: bool = False) -> Instance:
        inst = Instance(guest_id, self.now, booted, False, incoming)  # (paused False)
        self.nodes[node].instances[guest_id] = inst
        if not incoming:
            self._open_run(guest_id, node)
        self.touch(guest_id)
        return inst

    def resume_incoming(self, guest_id: str, node: str) -> None:
        inst = self.nodes[node].instances[guest_id]
        inst.incoming, inst.paused, inst.booted = False, False, True
        self._open_run(guest_id, node)
        self.touch(guest_id)

    def end_instance(self, guest_id: str, node: str) -> None:
        if self.nodes[node].instances.pop(guest_id, None) is None:
            return
        run = self._open_runs.pop((guest_id, node), None)
        if run is not None:
            run.end = self.now
        self.touch(guest_id)

    def _open_run(self, guest_id: str, node: str) -> None:
        run = RunInterval(guest_id, node, self.now)
        self._open_runs[(guest_id, node)] = run
        self.run_log.append(run)

    def touch(self, guest_id: str) -> None:
        """Call after changing anything about a guest: its inventory entry is rebuilt and
        its reachability re-checked."""
        self._dirty.add(guest_id)
        self.changed_guests.add(guest_id)

    def touch_node(self, node: SimNode) -> None:
        """Call after changing a node: every guest running on it is re-read."""
        self._dirty.update(node.instances)
        self.changed_guests.update(node.instances)

    def reachable(self, guest_id: str) -> bool:
        """True when the guest answers on the network: booted, not paused, its link
        up, on a live node whose network is up."""
        guest = self.guests.get(guest_id)
        if guest is not None and not guest.link_up:
            return False
        home = self.nodes.get(guest.node) if guest is not None else None
        # Its own node first: at 10,000 guests on 100 nodes, looking through every node
        # for each guest made building the cluster take a second (issue 12).
        if home is not None and self._answers_on(home, guest_id):
            return True
        return any(self._answers_on(node, guest_id) for node in self.nodes.values())

    @staticmethod
    def _answers_on(node: SimNode, guest_id: str) -> bool:
        inst = node.instances.get(guest_id)
        return (inst is not None and inst.booted and not inst.paused and not inst.incoming
                and node.alive and node.net_up)

    # --- narration and tasks --------------------------------------------------------

    def narrate(self, kind: EventKind, message: str, node: str | None = None,
                guest: str | None = None) -> None:
        self._event_seq += 1
        self.events.append(ClusterEvent(self._event_seq, self.now, kind, message, node, guest))
        if len(self.events) > MAX_EVENTS:
            del self.events[: len(self.events) - MAX_EVENTS]

    def new_task(self, operation: str, target: str, node: str,
                 via_ha: bool = False) -> TaskRecord:
        """A task on guest `target`, with a UPID of Proxmox's type for the operation
        (`via_ha`: a request to the HA manager, "hastart"...); an operation Proxmox
        makes no task of (an HA resource change) gets an id of the console's own."""
        # with the first operation: neither a build nor a poll makes a task
        from vmconsole.backends.sim.tasks import TaskRecord, make_upid, upid_type

        self._task_serial += 1
        guest = self.guest(target)
        task_type = upid_type(operation, guest.kind, via_ha)
        task_id = (f"vmconsole:{operation}:{self._task_serial}" if task_type is None else
                   make_upid(node, self._task_serial, self.now, task_type, guest.vmid))
        record = TaskRecord(task_id, operation, target, node, self.now)
        self.tasks[task_id] = record
        self._forget_old_tasks()
        return record

    def inherit_tasks(self, old: Sim, reason: str) -> None:
        """Keep `old`'s task log as this model's, before this one is built to replace
        it on the same clock (a scenario's start): a task still running there ends now as an error
        saying `reason`, since nothing of the old model will ever end it, and a poll
        shows it ended instead of no longer listing it (the console would keep it
        running). Task serials go on from `old`'s, so no new task takes an old id."""
        for record in old.tasks.values():
            if not record.status.done:
                # Its callbacks act on the old model: none of them may run.
                record.progress_at = record.cancel = record.then = None
                record.finish(self.now, TaskStatus.ERROR, reason)
        self.tasks = dict(old.tasks)
        self._task_serial = old._task_serial

    def _forget_old_tasks(self) -> None:
        done = [k for k, t in self.tasks.items() if t.status.done]
        for key in done[: max(0, len(done) - MAX_DONE_TASKS)]:
            del self.tasks[key]
