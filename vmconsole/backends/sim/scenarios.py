"""The lecture's scenarios, runnable by name: each shapes its cluster, schedules its
steps on the simulated clock, and sums up what the model measured."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from vmconsole.backends.abilities import FaultKind
from vmconsole.backends.base import BackendError, MigrationMode
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim import balance, faults, ft, migration, power
from vmconsole.backends.sim.engine import RunInterval, Sim
from vmconsole.backends.sim.ha import HAManager
from vmconsole.backends.sim.state import HAResource
from vmconsole.backends.sim.timing import CLUSTER, Cadence
from vmconsole.model import HARequest, HAState

Step = Callable[[Sim, HAManager], None]


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    nodes: int
    qdevice: bool
    steps: tuple[tuple[float, str, Step], ...]  # (seconds after start, what, action)
    watch: tuple[str, ...]  # the guests whose downtime the summary reports
    # A lesson read from a file builds its own cluster instead of the classic lab, and
    # may model pve-ha-manager's test hardware (instant boots, a reset powers off).
    build: Callable[[Sim], None] | None = field(default=None, compare=False)
    node_boot: float | None = None
    os_shutdown: float | None = None  # a shutting-down node's OS after its CRM exits
    reset_reboots: bool = True
    shutdown_policy: str = "conditional"
    quorum_options: tuple[str, ...] = ()  # votequorum: two_node, auto_tie_breaker, ...
    crs: balance.CRSSettings | None = None  # datacenter.cfg's crs (None: basic, as the lab's)
    ha_cadence: Cadence = CLUSTER  # when the CRM and LRMs work (a test harness's own)


def _migrate(guest: str, node: str, mode: MigrationMode) -> Step:
    def step(sim: Sim, ha: HAManager) -> None:
        migration.migrate(sim, sim.guests[guest], node, mode, with_local_disks=False)
    return step


def _start(guest: str) -> Step:
    def step(sim: Sim, ha: HAManager) -> None:
        power.start(sim, sim.guests[guest])
    return step


def _fault(node: str, fault: FaultKind) -> Step:
    def step(sim: Sim, ha: HAManager) -> None:
        faults.inject(sim, ha, sim.nodes[node], fault)
    return step


def _partition(*groups: list[str]) -> Step:
    def step(sim: Sim, ha: HAManager) -> None:
        faults.partition(sim, ha, list(groups))
    return step


def _restore(node: str | None = None) -> Step:
    def step(sim: Sim, ha: HAManager) -> None:
        faults.restore(sim, ha, None if node is None else sim.nodes[node])
    return step


def _make_ha(*guests: str) -> Step:
    def step(sim: Sim, ha: HAManager) -> None:
        for guest in guests:
            target = sim.guests[guest]
            if target.ha is None:
                target.ha = HAResource(HARequest.STARTED, HAState.STOPPED)
            ha.services.request(target, HARequest.STARTED)
    return step


def _auto_rebalance(mode: str) -> Step:
    def step(sim: Sim, ha: HAManager) -> None:
        balance.configure(ha, mode, True, threshold=0.3, hold=3, margin=0.1)
    return step


def _fault_tolerant(guest: str, secondary: str) -> Step:
    def step(sim: Sim, ha: HAManager) -> None:
        sim.ft_link_gbit = ft.FT_LINK_GBIT  # the lab gets its dedicated FT link
        ft.enable(sim, sim.guests[guest], secondary)
    return step


HEAL_AT = 300  # seconds: long after the recovery, so each phase can be watched

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("migrate", "live-migrate VM 100 pve1 -> pve2, then container 200 pve3 -> pve1 "
             "in restart mode: compare the downtimes", 3, False,
             ((5, "live migration of VM 100 (web1) to pve2",
               _migrate("qemu/100", "pve2", MigrationMode.LIVE)),
              (45, "restart migration of CT 200 (dns1) to pve1",
               _migrate("lxc/200", "pve1", MigrationMode.RESTART))),
             ("qemu/100", "lxc/200")),
    Scenario("ha-failover", "power off pve2, where HA VM 101 runs: fence delay, lock lease, "
             "recovery on another node, boot; at +300 s pve2 returns and 101 fails back",
             3, False,
             ((10, "power off pve2", _fault("pve2", FaultKind.POWER_OFF)),
              (HEAL_AT, "power pve2 back on", _restore("pve2"))),
             ("qemu/101",)),
    Scenario("split-brain", "two nodes, no quorum device, the link between them cut: "
             "neither side has quorum, both fence themselves; healed at +300 s", 2, False,
             ((10, "cut the link between pve1 and pve2", _partition(["pve1"], ["pve2"])),
              (HEAL_AT, "repair the link", _restore())),
             ("qemu/100", "qemu/101")),
    Scenario("split-brain-qdevice", "two nodes plus a QDevice vote, the link cut: exactly "
             "one side keeps quorum and recovers the other's HA guests; healed at +300 s",
             2, True,
             ((10, "cut the link between pve1 and pve2", _partition(["pve1"], ["pve2"])),
              (HEAL_AT, "repair the link", _restore())),
             ("qemu/100", "qemu/101")),
    Scenario("split-brain-two-node", "two nodes with votequorum's two_node, the link cut: "
             "both sides stay quorate and each may act - watch a guest run twice (why "
             "Proxmox VE does not support two_node with HA); healed at +300 s", 2, False,
             ((10, "cut the link between pve1 and pve2", _partition(["pve1"], ["pve2"])),
              (HEAL_AT, "repair the link", _restore())),
             ("qemu/100", "qemu/101"), quorum_options=("two_node",)),
    Scenario("split-brain-tie-breaker", "two nodes with auto_tie_breaker, the link cut: "
             "the half with the lowest node id (pve1) keeps quorum and recovers pve2's HA "
             "guest; healed at +300 s", 2, False,
             ((10, "cut the link between pve1 and pve2", _partition(["pve1"], ["pve2"])),
              (HEAL_AT, "repair the link", _restore())),
             ("qemu/100", "qemu/101"), quorum_options=("auto_tie_breaker",)),
    Scenario("last-man-standing", "three nodes with last_man_standing and auto_tie_breaker: "
             "pve3 then pve2 power off; expected votes follow the cluster down and pve1 "
             "alone keeps quorum and runs every HA guest", 3, False,
             ((10, "power off pve3", _fault("pve3", FaultKind.POWER_OFF)),
              (200, "power off pve2", _fault("pve2", FaultKind.POWER_OFF))),
             ("qemu/101", "lxc/200"),
             quorum_options=("last_man_standing", "auto_tie_breaker")),
    Scenario("fault-tolerance", "test1 becomes fault tolerant (its shadow on pve2, over a "
             "dedicated 10 Gbit link) next to web1, an HA VM on the same node; pve1 loses "
             "power: test1's secondary goes live in about 100 ms, web1 is recovered by HA "
             "in minutes", 3, False,
             ((2, "start test1", _start("qemu/103")),
              (40, "make test1 fault tolerant, secondary on pve2",
               _fault_tolerant("qemu/103", "pve2")),
              (60, "power off pve1", _fault("pve1", FaultKind.POWER_OFF))),
             ("qemu/103", "qemu/100")),
    Scenario("crs-rebalance", "test1 and proxy1 become HA services and web1 joins db1 "
             "and proxy1 on pve2, leaving it the busiest node; then the CRS's "
             "auto-rebalance (static scheduler, Proxmox's defaults: threshold 0.3, hold 3 "
             "rounds, margin 0.1) moves services until the imbalance is under 0.3",
             3, False,
             ((5, "make test1 (pve1) and proxy1 (pve2) HA services",
               _make_ha("qemu/103", "lxc/201")),
              (10, "migrate web1 to pve2", _migrate("qemu/100", "pve2", MigrationMode.LIVE)),
              (60, "turn on auto-rebalance", _auto_rebalance("static"))),
             ("lxc/201", "qemu/100")),
    Scenario("partition", "partition 1|2 in three nodes: pve3 alone loses quorum and "
             "fences itself, the majority recovers its HA guest; healed at +300 s", 3, False,
             ((10, "partition pve1, pve2 | pve3", _partition(["pve1", "pve2"], ["pve3"])),
              (HEAL_AT, "repair the network", _restore())),
             ("lxc/200", "qemu/102")),
)}


class ScenarioRun:
    """A scenario scheduled on a simulator; `summary()` reports it at any moment."""

    def __init__(self, scenario: Scenario, sim: Sim, ha: HAManager) -> None:
        self.scenario, self.sim, self.ha = scenario, sim, ha
        self.started = sim.now
        votes = f"{scenario.nodes} nodes" + (" + QDevice" if scenario.qdevice else "")
        sim.narrate(EventKind.SCENARIO,
                    f"scenario {scenario.name} ({votes}): {scenario.description}")
        for delay, what, action in scenario.steps:
            sim.at(self.started + delay, self._step(what, action))

    def _step(self, what: str, action: Step) -> Callable[[], None]:
        def run() -> None:
            self.sim.narrate(EventKind.SCENARIO_STEP, f"scenario {self.scenario.name}: {what}")
            try:
                action(self.sim, self.ha)
            except BackendError as exc:  # as the console would refuse it, say why
                self.sim.narrate(EventKind.SCENARIO_STEP, f"scenario {self.scenario.name}: {what} "
                                 f"refused: {exc.message}")
        return run

    def summary(self) -> list[str]:
        sim = self.sim
        lines = [f"scenario {self.scenario.name}, {sim.now - self.started:.0f} s in"]
        for guest_id in self.scenario.watch:
            guest = sim.guests[guest_id]
            gaps = self._outages(guest_id)
            where = sim.instance(guest_id)
            now = (f"runs on {where[0].name}" if where else
                   f"is down (config on {guest.node})")
            if gaps:
                shown = ", ".join(_duration(end - start) if end is not None else
                                  f"since +{start - self.started:.0f} s"
                                  for start, end in gaps)
                lines.append(f"{guest.vmid} ({guest.name}): unreachable {shown}; now {now}")
            else:
                lines.append(f"{guest.vmid} ({guest.name}): always reachable; now {now}")
        for event in sim.events:
            if event.time >= self.started and event.kind in (
                    EventKind.WATCHDOG_RESET, EventKind.FENCE, EventKind.FENCED,
                    EventKind.CRM_MASTER, EventKind.QUORUM, EventKind.QUORUM_LOST,
                    EventKind.SERVICE_ERROR, EventKind.FT_TAKEOVER):
                lines.append(f"+{event.time - self.started:5.1f} s  {event.message}")
        doubled = runs_twice(sim.run_log)
        lines.append("no guest ever ran on two nodes at once" if not doubled else
                     f"RAN TWICE: {', '.join(doubled)}")
        return lines

    def _outages(self, guest_id: str) -> list[tuple[float, float | None]]:
        log = [(t, up) for t, up in self.sim.reach_log.get(guest_id, []) if t > self.started]
        gaps: list[tuple[float, float | None]] = []
        for t, up in log:
            if not up:
                gaps.append((t, None))
            elif gaps and gaps[-1][1] is None:
                gaps[-1] = (gaps[-1][0], t)
        return gaps


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def runs_twice(run_log: list[RunInterval]) -> list[str]:
    """Guests that ever ran on two nodes at the same moment (must be none)."""
    by_guest: dict[str, list[RunInterval]] = {}
    for run in run_log:
        by_guest.setdefault(run.guest, []).append(run)
    doubled = []
    for guest, runs in by_guest.items():
        ordered = sorted(runs, key=lambda r: r.start)
        for a, b in itertools.pairwise(ordered):
            if a.node != b.node and (a.end is None or b.start < a.end):
                doubled.append(guest)
                break
    return doubled


def describe() -> list[tuple[str, str]]:
    """(name, one line) of every scenario, for the CLI and the palette."""
    return [(s.name, s.description) for s in SCENARIOS.values()]
