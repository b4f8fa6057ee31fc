"""`SimBackend`: the simulated cluster behind the backend protocol.

Every public method takes the lock, processes the events due up to the clock's present,
then answers; so the model needs no thread of its own and a `ManualClock` drives it
deterministically in tests.
"""

from __future__ import annotations

import random
import threading

from vmconsole.backends.base import (
    Capabilities,
    ClusterEvent,
    MetricSample,
    NotFound,
    NotSupported,
    Task,
)
from vmconsole.backends.sim.clock import RealClock, SimClock
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.inventory import InventoryBuilder, report_interval
from vmconsole.backends.sim.lab import build_classic_lab, build_generated
from vmconsole.backends.sim.load import LoadModel
from vmconsole.config import SimCluster
from vmconsole.model import Inventory

CAPABILITIES = Capabilities(
    vmids=True, containers=True, templates=True, snapshots=True, snapshot_ram=True,
    linked_clone=True, live_migration=True, ha=True, history=False, faults=True,
    time_control=True,
)


class SimBackend:
    def __init__(self, cfg: SimCluster, clock: SimClock | None = None) -> None:
        self.cfg = cfg
        self.clock = clock if clock is not None else RealClock(cfg.time_scale)
        self._lock = threading.RLock()
        self.sim = Sim(self.clock, cfg.seed, cfg.name)
        self._load = LoadModel(cfg.seed)
        self._probe_rng = random.Random(f"{cfg.seed}:probe")
        if cfg.guests == 0:
            build_classic_lab(self.sim, cfg.nodes)
        else:
            build_generated(self.sim, cfg.nodes, cfg.guests)
        self.sim.settle()
        self._inventory = InventoryBuilder(self.sim, self._load,
                                           report_interval(len(self.sim.guests)))

    # --- the protocol's read side ---------------------------------------------------

    @property
    def name(self) -> str:
        return self.cfg.name

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
            taken = {g.vmid for g in self.sim.guests.values()}
            vmid = 100
            while vmid in taken:
                vmid += 1
            return vmid

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

    def probe(self, guest_id: str) -> float | None:
        """An RTT of a few tenths of a millisecond when the model says the guest answers
        on the network at this instant, else None (a lost probe)."""
        with self._lock:
            self.sim.advance()
            if guest_id not in self.sim.guests or not self.sim.reachable(guest_id):
                return None
            return (0.2 + 0.25 * self._probe_rng.random() ** 2) / 1000.0
