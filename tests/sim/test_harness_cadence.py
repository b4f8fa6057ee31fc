"""A pve-ha-manager test directory plays at its harness's cadence (TestHardware.pm's
run: a 20 s loop, node by node, its CRM then its LRM), a lesson at a real cluster's
(every 10 s): the same failing start, written both ways, is retried that often."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from tests.sim.conftest import wait
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.config import SimCluster

NODES = ("node1", "node2", "node3")
# fa:130: upstream's fake resource whose start fails three times (VirtFail.pm's digits)
LESSON = """
name = "retry"
nodes = ["node1", "node2", "node3"]
[services]
"fa:130" = { node = "node2", state = "stopped", max_restart = 3 }
[[steps]]
at = 100
do = "service fa:130 started"
"""


def _tries(path: Path) -> tuple[list[float], float]:
    """The failed starts and the start of fa:130, in seconds after the request."""
    clock = ManualClock()
    backend = SimBackend(SimCluster(scenario=str(path)), clock=clock)
    wait(clock, backend, 200, step=2.0)
    events = backend.events()
    asked = next(e.time for e in events if e.kind == EventKind.HA_REQUEST)
    failed = [e.time - asked for e in events if e.kind == EventKind.RESTART]
    started = next(e.time for e in events if e.kind == EventKind.STARTED) - asked
    return failed, started


def test_a_test_directory_retries_once_per_harness_loop(tmp_path: Path) -> None:
    case = tmp_path / "retry"
    case.mkdir()
    (case / "hardware_status").write_text(json.dumps(
        {n: {"power": "off", "network": "off"} for n in NODES}))
    (case / "service_config").write_text(json.dumps(
        {"fa:130": {"node": "node2", "state": "stopped", "max_restart": 3}}))
    (case / "cmdlist").write_text(json.dumps(
        [[f"power {n} on" for n in NODES], ["service fa:130 started"]]))
    failed, started = _tries(case)
    # the request comes with a loop's cmdlist line; node2's LRM works 3 s into each
    # loop (node1's CRM and LRM, node2's CRM before it), so every 20 s from there
    assert failed == pytest.approx([3.0, 23.0, 43.0])
    assert 63.0 <= started < 65.0  # the fourth try, plus the start itself


def test_a_lesson_retries_on_a_real_clusters_rounds(tmp_path: Path) -> None:
    lesson = tmp_path / "retry.toml"
    lesson.write_text(LESSON)
    failed, started = _tries(lesson)
    assert len(failed) == 3
    assert [b - a for a, b in pairwise(failed)] == pytest.approx([10.0, 10.0])
    assert started - failed[-1] == pytest.approx(10.0, abs=2.0)


def test_a_request_is_read_before_the_rounds_work(tmp_path: Path) -> None:
    """Manager.pm's manage() reads the service config before its state machine: a
    service asked to start on a lost node is fenced in the round that reads the
    request, not the one after."""
    case = tmp_path / "late"
    case.mkdir()
    (case / "hardware_status").write_text(json.dumps(
        {n: {"power": "off", "network": "off"} for n in NODES}))
    (case / "service_config").write_text(json.dumps(
        {"vm:101": {"node": "node1", "state": "started"},
         "vm:103": {"node": "node3", "state": "ignored"}}))
    (case / "cmdlist").write_text(json.dumps(
        [[f"power {n} on" for n in NODES], ["network node3 off"], ["service vm:103 started"]]))
    clock = ManualClock()
    backend = SimBackend(SimCluster(scenario=str(case)), clock=clock)
    wait(clock, backend, 260, step=2.0)
    events = backend.events()
    asked = next(e.time for e in events if e.kind == EventKind.HA_REQUEST)
    fence = next(e.time for e in events if e.kind == EventKind.FENCE)
    assert 0 < fence - asked < 1.0  # node1's CRM, first in the loop that took the line


def test_a_drained_nodes_lrm_exits_in_the_round_that_finds_it_drained(tmp_path: Path) -> None:
    """LRM.pm: under the migrate policy a shutting-down node's LRM exits in the round
    that finds its services gone, its CRM on its next round, and the node goes off."""
    case = tmp_path / "drain"
    case.mkdir()
    (case / "hardware_status").write_text(json.dumps(
        {n: {"power": "off", "network": "off"} for n in NODES}))
    (case / "service_config").write_text(json.dumps(
        {"vm:103": {"node": "node3", "state": "started"}}))
    (case / "datacenter.cfg").write_text(json.dumps({"ha": {"shutdown_policy": "migrate"}}))
    (case / "cmdlist").write_text(json.dumps(
        [[f"power {n} on" for n in NODES], ["shutdown node3"]]))
    clock = ManualClock()
    backend = SimBackend(SimCluster(scenario=str(case)), clock=clock)
    wait(clock, backend, 200, step=2.0)
    events = backend.events()
    asked = next(e.time for e in events if e.kind == EventKind.NODE_SHUTDOWN)
    moved = next(e.time for e in events if e.kind == EventKind.MIGRATION_DONE)
    left = next(e for e in events if e.kind == EventKind.QUORUM and e.time > moved)
    assert "node1, node2 have 2 of 3 votes" in left.message
    # node3's LRM works 5 s into each loop, its CRM 4.1 s: the LRM round after the
    # migration (at +25) exits, the CRM's next (at +44.1) takes the node down
    assert left.time - asked == pytest.approx(44.1, abs=0.01)
