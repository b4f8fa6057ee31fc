"""A test directory that starts from a `manager_status` (the state the previous CRM
master left, which the next one reads back: Manager.pm's new), each rule on a small
cluster of our own in pve-ha-manager's format."""

from __future__ import annotations

import json
from pathlib import Path

from tests.sim.conftest import wait
from vmconsole.backends.abilities import ClusterEvent
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.backends.sim.ha_testrun import compare
from vmconsole.config import SimCluster

NODES = ("alpha", "bravo", "charlie")


def _case(path: Path, status: dict[str, object], services: dict[str, str],
          rounds: list[list[str]], on: tuple[str, ...] = NODES) -> Path:
    """A directory: three nodes off, `on` powered on by the first line, the started
    services (sid -> node), the status to start from and the cmdlist after that line."""
    path.mkdir()
    (path / "hardware_status").write_text(json.dumps(
        {n: {"power": "off", "network": "off"} for n in NODES}))
    (path / "service_config").write_text(json.dumps(
        {sid: {"node": node, "state": "started"} for sid, node in services.items()}))
    (path / "cmdlist").write_text(json.dumps([[f"power {n} on" for n in on], *rounds]))
    (path / "manager_status").write_text(json.dumps(status))
    return path


def _play(path: Path, seconds: float) -> SimBackend:
    clock = ManualClock()
    backend = SimBackend(SimCluster(scenario=str(path)), clock=clock)
    wait(clock, backend, seconds, step=2.0)
    return backend


def _since_start(backend: SimBackend, event: ClusterEvent) -> float:
    assert backend.scenario is not None
    return event.time - backend.scenario.started


def _events(backend: SimBackend, guest: str) -> list[ClusterEvent]:
    return [e for e in backend.events() if e.guest == guest]


def test_a_node_left_in_fence_is_fenced_at_once_and_its_service_recovered(
        tmp_path: Path) -> None:
    # The old master (charlie) had begun fencing alpha and died: alpha's lock is free,
    # as every agent lock is when the harness starts, so the new master takes it on its
    # first round and recovers vm:501, which never runs on alpha meanwhile.
    status = {"master_node": "charlie",
              "node_status": {"alpha": "fence", "bravo": "online", "charlie": "online"},
              "service_status": {"vm:501": {"node": "alpha", "state": "fence"}}}
    backend = _play(_case(tmp_path / "fence", status, {"vm:501": "alpha"}, [],
                          on=("alpha", "bravo")), 120)
    fenced = next(e for e in backend.events() if e.kind == "fenced")
    assert "alpha is fenced" in fenced.message and _since_start(backend, fenced) < 30
    assert backend.scenario is not None
    runs = [r.node for r in backend.sim.run_log if r.guest == "qemu/501"
            and (r.end is None or r.end > backend.scenario.started)]
    assert runs == ["bravo"]  # recovered to the only other online node, never on alpha
    recovered = next(e for e in _events(backend, "qemu/501") if e.kind == "recovered")
    assert "from alpha to bravo" in recovered.message


def test_a_migration_the_old_master_ordered_is_carried_out(tmp_path: Path) -> None:
    status = {"master_node": "alpha",
              "node_status": dict.fromkeys(NODES, "online"),
              "service_status": {"vm:502": {"node": "bravo", "state": "migrate",
                                            "target": "charlie"}}}
    backend = _play(_case(tmp_path / "migrate", status, {"vm:502": "bravo"}, []), 120)
    move = next(e for e in _events(backend, "qemu/502") if e.kind == "ha_move")
    assert move.message.startswith("502 moves to charlie: ordered by the previous CRM master")
    guest = backend.inventory().guest("qemu/502")
    assert guest is not None and guest.node == "charlie" and guest.running


def test_a_started_service_on_a_node_in_fence_waits_for_the_new_masters_delay(
        tmp_path: Path) -> None:
    # alpha in fence without a service in `fence` (an admin's doing): the new master
    # takes alpha's lock and lets it come back online; its started vm:503 is not fenced,
    # as the new master has not waited its own fence delay (Manager.pm's
    # next_state_started, NodeStatus.pm's node_is_offline_delayed).
    status = {"master_node": "bravo",
              "node_status": {"alpha": "fence", "bravo": "online", "charlie": "online"},
              "service_status": {"vm:503": {"node": "alpha", "state": "started"}}}
    backend = _play(_case(tmp_path / "admin", status, {"vm:503": "alpha"}, []), 200)
    assert "fenced" in [e.kind for e in backend.events()]
    assert [e.kind for e in _events(backend, "qemu/503")
            if e.kind in ("fence", "recovered")] == []
    assert backend.sim.nodes["alpha"].ha_state == "online"
    guest = backend.inventory().guest("qemu/503")
    assert guest is not None and guest.node == "alpha" and guest.running


def test_a_status_the_simulator_cannot_start_from_is_named(tmp_path: Path) -> None:
    status = {"master_node": "alpha", "node_status": {"alpha": "asleep"},
              "service_status": {"vm:504": {"node": "alpha", "state": "dancing"}},
              "disarm": {"mode": "freeze"}}
    result = compare(_case(tmp_path / "bad", status, {"vm:504": "alpha"}, []))
    assert not result.playable and "manager_status keys other than" in result.reason
    del status["disarm"]
    result = compare(_case(tmp_path / "worse", status, {"vm:504": "alpha"}, []))
    assert not result.playable
    assert "manager_status: node 'alpha' 'asleep'" in result.reason
    assert "manager_status: service 'vm:504' 'dancing' on 'alpha'" in result.reason
    # a value that is no string is quoted as its author wrote it, in JSON
    status["service_status"] = {"vm:504": {"node": "alpha", "state": ["started"]}}
    result = compare(_case(tmp_path / "listed", status, {"vm:504": "alpha"}, []))
    assert "manager_status: service 'vm:504' [\"started\"] on 'alpha'" in result.reason
