"""The lecture's scenarios: two-node split brain with and without a QDevice, the
migration lab, an HA failover; each sums up what the model measured."""

from __future__ import annotations

import re

import pytest

from tests.sim.conftest import wait
from vmconsole.backends.base import NotFound, TaskStatus
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.backends.sim.scenarios import SCENARIOS, describe, runs_twice
from vmconsole.config import SimCluster


def run(name: str, seconds: float = 240) -> SimBackend:
    clock = ManualClock()
    backend = SimBackend(SimCluster(scenario=name), clock=clock)
    wait(clock, backend, seconds)
    return backend


def test_every_scenario_is_listed_with_a_description() -> None:
    names = [name for name, _ in describe()]
    assert names == ["migrate", "ha-failover", "split-brain", "split-brain-qdevice",
                     "split-brain-two-node", "split-brain-tie-breaker", "last-man-standing",
                     "fault-tolerance", "crs-rebalance", "partition"]
    assert all(len(line) > 30 for _, line in describe())


def test_the_list_of_scenarios_starts_every_description_in_one_column(capsys) -> None:
    """A tester's finding: the names longer than the column (`split-brain-two-node`,
    `split-brain-tie-breaker`) pushed their descriptions out of line."""
    from vmconsole.cli import main

    assert main(["demo", "--list-scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(describe())
    columns = set()
    for line, (name, description) in zip(lines, describe(), strict=True):
        assert line.startswith(name + " ") and line.endswith(description), line
        columns.add(len(line) - len(description))
    assert len(columns) == 1, f"descriptions start at columns {sorted(columns)}"
    assert columns.pop() > max(len(name) for name, _ in describe()), "a space after a name"
    with pytest.raises(NotFound, match="scenarios: migrate, ha-failover"):
        SimBackend(SimCluster(scenario="nope"), clock=ManualClock())


def test_split_brain_without_qdevice_leaves_no_side_quorate() -> None:
    backend = run("split-brain")
    assert [n.name for n in backend.inventory().nodes] == ["pve1", "pve2"]
    assert backend.ha.quorate == {"pve1": False, "pve2": False}
    quorum = backend.inventory().quorum
    assert quorum is not None and (quorum.votes, quorum.expected, quorum.quorate) == (
        1, 2, False)
    resets = {e.node for e in backend.events() if e.kind == "watchdog_reset"}
    assert resets == {"pve1", "pve2"}  # both had HA services: both fenced themselves
    assert not any(e.kind in ("recovery", "recovered") for e in backend.events())
    assert runs_twice(backend.sim.run_log) == []


def test_split_brain_with_qdevice_keeps_exactly_one_side() -> None:
    backend = run("split-brain-qdevice")
    assert backend.ha.quorate == {"pve1": True, "pve2": False}
    quorum = backend.inventory().quorum
    assert quorum is not None and (quorum.votes, quorum.expected, quorum.quorate) == (
        2, 3, True)
    assert {e.node for e in backend.events() if e.kind == "watchdog_reset"} == {"pve2"}
    db = backend.inventory().guest("qemu/101")
    assert db is not None and db.running and db.node == "pve1"
    assert runs_twice(backend.sim.run_log) == []


def test_migrate_scenario_measures_milliseconds_then_seconds() -> None:
    backend = run("migrate", 120)
    summary = backend.scenario_summary()
    web = next(line for line in summary if line.startswith("100 (web1)"))
    dns = next(line for line in summary if line.startswith("200 (dns1)"))
    assert re.search(r"unreachable \d+ ms; now runs on pve2", web)
    assert re.search(r"unreachable \d+\.\d s; now runs on pve1", dns)
    assert summary[-1] == "no guest ever ran on two nodes at once"


def test_ha_failover_summary_says_who_fenced_whom_and_where_it_runs() -> None:
    backend = run("ha-failover")
    summary = "\n".join(backend.scenario_summary())
    assert "pve1 got pve2's agent lock: pve2 is fenced" in summary
    match = re.search(r"101 \(db1\): unreachable (\d+\.\d) s; now runs on (pve\d)", summary)
    assert match and 120 < float(match.group(1)) < 180 and match.group(2) != "pve2"


def test_scenarios_are_deterministic() -> None:
    one = [(e.time, e.message) for e in run("partition").events()]
    two = [(e.time, e.message) for e in run("partition").events()]
    assert one == two and len(one) > 8


def test_scenarios_shape_their_cluster() -> None:
    for scenario in SCENARIOS.values():
        backend = SimBackend(SimCluster(scenario=scenario.name), clock=ManualClock())
        assert len(backend.inventory().nodes) == scenario.nodes
        assert backend.sim.qdevice == scenario.qdevice


def test_a_healed_split_brain_starts_its_ha_guests_again() -> None:
    backend = run("split-brain", 420)
    assert backend.ha.quorate == {"pve1": True, "pve2": True}
    assert backend.ha.master is not None
    for guest_id in ("qemu/100", "qemu/101"):
        guest = backend.inventory().guest(guest_id)
        assert guest is not None and guest.running, guest_id
    assert runs_twice(backend.sim.run_log) == []


def test_after_a_failover_the_node_returns_and_the_guest_fails_back() -> None:
    backend = run("ha-failover", 480)
    db = backend.inventory().guest("qemu/101")
    assert db is not None and db.node == "pve2" and db.running  # its group prefers pve2
    line = next(x for x in backend.scenario_summary() if x.startswith("101 (db1)"))
    assert re.search(r"unreachable \d+\.\d s, \d+ ms; now runs on pve2", line)


def test_a_running_backend_switches_scenario_and_its_events_go_on():
    from vmconsole.backends.abilities import SupportsScenarios
    from vmconsole.backends.sim.backend import SimBackend
    from vmconsole.backends.sim.clock import ManualClock
    from vmconsole.config import SimCluster

    clock = ManualClock()
    backend = SimBackend(SimCluster(), clock=clock)
    assert isinstance(backend, SupportsScenarios)
    clock.advance(5)
    before = backend.events()
    last = before[-1].seq if before else 0
    backend.start_scenario("split-brain")
    assert [n.name for n in backend.inventory().nodes] == ["pve1", "pve2"]
    new = backend.events(last)
    assert new and new[0].seq == last + 1 and "split-brain" in new[0].message
    clock.advance(200)
    assert any("split-brain" in line for line in backend.scenario_summary())
    backend.start_scenario(None)
    assert len(backend.inventory().nodes) == 3 and backend.scenario_summary() == []


def test_a_task_running_when_the_scenario_changes_ends_as_an_error_in_the_task_list():
    clock = ManualClock()
    backend = SimBackend(SimCluster(), clock=clock)
    task = backend.clone("qemu/9000", CloneSpec(name="web9", node="pve1"))
    clock.advance(2)
    backend.start_scenario(None)
    clock.advance(60)
    listed = {t.id: t for t in backend.tasks()}
    assert task.id in listed
    ended = listed[task.id]
    assert ended.status is TaskStatus.ERROR and ended.ended == task.started + 2
    assert ended.error == "the cluster was replaced by the classic lab"
    assert "web9" not in {g.name for g in backend.inventory().guests}
    # a new task takes a new id, never the old one's
    again = backend.clone("qemu/9000", CloneSpec(name="web9", node="pve1"))
    assert again.id != task.id and again.id in {t.id for t in backend.tasks()}
