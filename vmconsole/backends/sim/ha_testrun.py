"""Play a pve-ha-manager test directory in the simulator and hold the result against
its `log.expect`: the key events (node state changes, fence, the agent lock taken,
recovery, start) each within one round of the harness (20 s), and where every service
runs at the end.

    python -m vmconsole.backends.sim.ha_testrun DIR [DIR ...]

prints one line per directory and a count: how many the simulator can play, how many
match.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vmconsole.backends.abilities import ClusterEvent
from vmconsole.backends.base import InvalidInput
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim.backend import SimBackend
from vmconsole.backends.sim.clock import ManualClock
from vmconsole.backends.sim.ha_testdir import HARNESS_LOOP, guest_id, read_testdir
from vmconsole.backends.sim.ha_testdir import sid_of as plain_sid
from vmconsole.backends.sim.ha_testlog import KeyEvent, parse_log
from vmconsole.backends.sim.lesson import testcase_scenario
from vmconsole.backends.sim.timing import next_crm_round, next_round
from vmconsole.config import SimCluster

TOLERANCE = HARNESS_LOOP  # one CRM round of the harness

_NODE_STATES = {EventKind.NODE_LOST: "unknown", EventKind.NODE_ONLINE: "online",
                EventKind.FENCE: "fence", EventKind.MAINTENANCE: "maintenance",
                EventKind.MAINTENANCE_END: "online"}


def _confirmed_on_target(events: list[ClusterEvent], i: int) -> bool:
    """Whether the target's LRM reports the service of the migration that ended with
    events[i] as started: it does on its first round with the service in `started` on it
    (LRM.pm), unless the HA stack starts it there itself (an offline relocation: that
    start is its own event) or the CRM's next round moves it on at once (Manager.pm's
    next_state_migrate sets `started` and select_service_node moves it in one round)."""
    done = events[i]
    for e in events[i + 1:]:
        if e.guest != done.guest:
            continue
        if e.kind == EventKind.STARTED and e.node == done.node:
            return False
        if e.kind == EventKind.HA_MOVE:
            return e.time - done.time > HARNESS_LOOP
        if e.kind in (EventKind.MIGRATION_STARTED, EventKind.RECOVERED, EventKind.FENCE):
            break
    return True


def key_events(events: list[ClusterEvent], start: float, origin: float,
               runs_as_ha: Callable[[str, str, float], bool],
               sids: Mapping[str, str] | None = None,
               confirmed_at: Callable[[str, str, float], float] | None = None
               ) -> list[KeyEvent]:
    """The simulator's events in the terms of the manager's log, in harness seconds.
    `runs_as_ha(guest, node, time)`: the guest is an HA service running on the node
    just after that time (an offline move lands a stopped service: no start). `sids`
    names guests whose sid is not `sid_of`'s (a fake resource's fa:).
    `confirmed_at(master, target, time)`: when the target's LRM logs a service started
    that a migration landed there at `time` (None: at once; master "": the first one)."""
    sids = sids or {}
    master = ""

    def sid_of(guest: str) -> str:
        return sids.get(guest) or plain_sid(guest)
    out = []
    for i, e in enumerate(events):
        t = e.time - start + origin
        if e.kind == EventKind.CRM_MASTER and e.node:
            master = e.node
        if e.kind in _NODE_STATES and e.node:
            out.append(KeyEvent(t, "node_state", e.node, _NODE_STATES[e.kind]))
        elif e.kind == EventKind.FENCED and e.node:
            out += [KeyEvent(t, "fenced", e.node), KeyEvent(t, "node_state", e.node, "unknown")]
        elif e.kind in (EventKind.RECOVERED, EventKind.STARTED) and e.guest and e.node:
            out.append(KeyEvent(t, e.kind, sid_of(e.guest), e.node))
        elif (e.kind == EventKind.MIGRATION_DONE and e.guest and e.node
              and runs_as_ha(e.guest, e.node, e.time) and _confirmed_on_target(events, i)):
            if confirmed_at is not None:
                t += confirmed_at(master, e.node, e.time) - e.time
            out.append(KeyEvent(t, "started", sid_of(e.guest), e.node))
    return out


@dataclass
class Comparison:
    name: str
    playable: bool
    reason: str = ""
    missing: list[KeyEvent] = field(default_factory=list)  # in log.expect, not in the sim
    extra: list[KeyEvent] = field(default_factory=list)  # in the sim, not in log.expect
    placement: tuple[dict[str, str], dict[str, str]] = ({}, {})  # expected, simulated

    @property
    def matches(self) -> bool:
        return (self.playable and not self.missing and not self.extra
                and self.placement[0] == self.placement[1])

    def describe(self) -> str:
        if not self.playable:
            return f"{self.name}: not playable ({self.reason})"
        if self.matches:
            return f"{self.name}: matches"
        parts = [f"missing {e.kind} {e.subject} {e.value} at {e.time:.0f}"
                 for e in self.missing]
        parts += [f"extra {e.kind} {e.subject} {e.value} at {e.time:.0f}" for e in self.extra]
        if self.placement[0] != self.placement[1]:
            parts.append(f"placement {self.placement[1]} instead of {self.placement[0]}")
        return f"{self.name}: differs: " + "; ".join(parts)


def _match(expected: list[KeyEvent], actual: list[KeyEvent]
           ) -> tuple[list[KeyEvent], list[KeyEvent]]:
    left = list(actual)
    missing = []
    for want in expected:
        hit = next((a for a in left if (a.kind, a.subject, a.value) ==
                    (want.kind, want.subject, want.value)
                    and abs(a.time - want.time) <= TOLERANCE), None)
        if hit is None:
            missing.append(want)
        else:
            left.remove(hit)
    return missing, left


def compare(path: Path) -> Comparison:
    """Play one test directory and compare it with its log.expect."""
    case = read_testdir(path)
    try:
        scenario, origin, end = testcase_scenario(case)
    except InvalidInput as exc:
        return Comparison(case.name, False, exc.message.split(": ", 1)[-1])
    log = (path / "log.expect").read_text() if (path / "log.expect").is_file() else ""
    expected, placement = parse_log(log)
    # a service the cmdlist adds running (`service SID add NODE STATE 1`) runs without a
    # start in the log: it is where it was added unless the log shows it starting elsewhere
    for words in (c.split() for line in case.rounds for c in line):
        if len(words) >= 6 and words[0] == "service" and words[2] == "add" and words[5] == "1":
            placement.setdefault(words[1], words[3])
    clock = ManualClock()
    backend = SimBackend(SimCluster(scenario=str(path)), clock=clock)
    start = backend.now()
    first_master = backend.ha.master or next(iter(backend.sim.nodes))
    while backend.now() - start < end - origin:
        clock.advance(1.0)
        backend.inventory()
    # What happens during the start-up line is the simulator's starting point: none of
    # it is missed, and what the simulator does of it too is not extra.
    start_up = [e for e in expected if e.time < origin + HARNESS_LOOP and origin != 0]
    expected = [e for e in expected if e.time >= origin + HARNESS_LOOP or origin == 0]
    sim = backend.sim

    def runs_as_ha(guest: str, node: str, t: float) -> bool:
        return guest in sim.guests and sim.guests[guest].ha is not None and any(
            r.guest == guest and r.node == node and r.start <= t + 1.0
            and (r.end is None or r.end > t) for r in sim.run_log)
    fakes = {guest_id(s.sid): s.sid for s in case.services if s.sid.startswith("fa:")}
    def confirmed_at(master: str, target: str, t: float) -> float:
        # the master's CRM marks the service `started` on its next round, the target's
        # LRM logs it on its first round after that (Manager.pm, LRM.pm)
        cadence = backend.ha.cadence
        crm = next_crm_round(sim.nodes[master or first_master], t, cadence)
        return next_round(sim.nodes[target], crm, cadence)
    actual = key_events(backend.events(), start, origin, runs_as_ha, fakes, confirmed_at)
    missing, extra = _match(expected, actual)
    extra = _match(start_up, extra)[1]
    simulated = {}
    for gid in scenario.watch:
        where = backend.sim.instance(gid)
        if where is not None:
            simulated[fakes.get(gid) or plain_sid(gid)] = where[0].name
    return Comparison(case.name, True, "", missing, extra, (placement, simulated))


def main(argv: list[str]) -> int:
    results = [compare(Path(arg)) for arg in argv]
    for result in results:
        print(result.describe())
    playable = [r for r in results if r.playable]
    print(f"playable: {len(playable)} of {len(results)}; matching: "
          f"{sum(r.matches for r in playable)} of {len(playable)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
