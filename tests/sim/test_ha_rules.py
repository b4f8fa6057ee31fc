"""pve-ha-manager's rules the simulator follows (Manager.pm, NodeStatus.pm, LRM.pm): one
test per rule of issue 17's list, each checked against what the real manager does."""

from __future__ import annotations

from pathlib import Path

from tests.sim.conftest import wait
from tests.sim.test_ha import first
from vmconsole.backends.abilities import FaultKind
from vmconsole.backends.base import MigrationMode
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.backends.sim.scenarios import runs_twice
from vmconsole.backends.sim.state import HAGroup
from vmconsole.backends.sim.timing import CLUSTER, FENCE_DELAY, LOCK_LEASE, ROUND, next_round
from vmconsole.config import SimCluster
from vmconsole.model import HARequest, HAState, NodeHAState


def test_recovery_brings_a_service_back_to_the_fenced_node_its_rules_allow_only(
        lab: SimBackend, clock: ManualClock) -> None:
    """Manager.pm's next_state_recovery picks among online nodes, the fenced one
    included: a restricted group holding only pve3 recovers to pve3 once it is back."""
    lab.sim.groups["only-pve3"] = HAGroup("only-pve3", {"pve3": 1}, restricted=True)
    lab.ha_set("lxc/200", HASettings(request=HARequest.STARTED, group="only-pve3"))
    wait(clock, lab, 20)
    lab.inject_fault("pve3", FaultKind.POWER_OFF)
    wait(clock, lab, 180)
    assert lab.inventory().guest("lxc/200").ha.state is HAState.RECOVERY  # type: ignore[union-attr]
    assert "no online node its rules allow" in first(lab.events(), "recovery").message
    lab.restore("pve3")
    wait(clock, lab, 120)
    recovered = first(lab.events(), "recovered")
    assert "back to pve3, the fenced node itself" in recovered.message
    guest = lab.inventory().guest("lxc/200")
    assert guest is not None and guest.node == "pve3" and guest.running
    assert guest.ha is not None and guest.ha.state is HAState.STARTED


def test_a_new_master_starts_its_own_fence_delay(lab: SimBackend, clock: ManualClock) -> None:
    """NodeStatus.pm keeps last_online in the master's memory: a new master has never
    seen the old master's node online and waits a full fence delay from its takeover."""
    t0 = lab.now()
    lab.inject_fault("pve1", FaultKind.POWER_OFF)  # the master, running web1 (HA)
    wait(clock, lab, 260)
    events = [e for e in lab.events() if e.time >= t0]
    takeover = first(events, "crm_master")
    fence = first(events, "fence", "pve1")
    assert FENCE_DELAY <= fence.time - takeover.time < FENCE_DELAY + ROUND
    recovered = first(events, "recovered")
    # the lock lease ran out long ago: fenced and recovered on the fence round itself
    assert recovered.time == fence.time and recovered.time - t0 >= LOCK_LEASE + FENCE_DELAY - ROUND


def test_once_in_fence_a_returning_node_does_not_back_out(lab: SimBackend,
                                                          clock: ManualClock) -> None:
    """A node back while in `fence` sees the fence request: its LRM keeps its lock
    released and its watchdog resets it; the CRM recovers its services elsewhere, and
    they come back to it only by migration (failback)."""
    pve2 = lab.sim.nodes["pve2"]  # db1 (HA, its group prefers pve2)
    # just after pve2's LRM round: the master last saw pve2 online before pve2's watchdog
    # was last fed, so the fence comes before the reset
    wait(clock, lab, next_round(pve2, lab.now(), CLUSTER) + 0.5 - lab.now(), step=0.5)
    t0 = lab.now()
    lab.inject_fault("pve2", FaultKind.CUT_NETWORK)
    waited = 0.0
    while not any(e.kind == "fence" for e in lab.events() if e.time >= t0):
        assert waited < 90, "no fence within 90 s"
        wait(clock, lab, 0.5, step=0.5)
        waited += 0.5
    assert pve2.alive  # fenced before its watchdog fired
    lab.restore("pve2")
    wait(clock, lab, 300)
    events = [e for e in lab.events() if e.time >= t0]
    kinds = [e.kind for e in events]
    assert "fence_pending" in kinds and "watchdog_disarmed" not in kinds
    assert first(events, "watchdog_reset", "pve2").time < first(events, "fenced").time
    assert first(events, "recovered").node != "pve2"
    assert "failback" in first(events, "ha_move").message
    guest = lab.inventory().guest("qemu/101")
    assert guest is not None and guest.node == "pve2" and guest.running
    assert runs_twice(lab.sim.run_log) == []


def test_an_ha_request_for_a_service_on_a_lost_node_is_accepted(
        lab: SimBackend, clock: ManualClock) -> None:
    lab.inject_fault("pve3", FaultKind.CUT_NETWORK)
    task = lab.stop("lxc/200")  # HA-managed: a request written by the quorate side
    assert task.status.done
    wait(clock, lab, 240)
    guest = lab.inventory().guest("lxc/200")
    assert guest is not None and guest.node != "pve3" and not guest.running
    assert guest.ha is not None and guest.ha.state is HAState.STOPPED


def test_failback_acts_on_every_crm_round(lab: SimBackend, clock: ManualClock) -> None:
    """With failback on, a running service on a lower-priority node is moved to its
    group's preferred node on the next CRM round, not only when that node rejoins."""
    task = lab.migrate("qemu/101", "pve1", MigrationMode.LIVE)  # db1 prefers pve2
    wait(clock, lab, 150)
    assert lab.task(task.id).status.done
    arrived = first(lab.events(), "migration_done")
    request, move = [e for e in lab.events() if e.kind == "ha_move"][:2]
    assert "admin migrate request" in request.message  # the CRM's round, not the call
    assert 0 < move.time - arrived.time <= ROUND
    assert "failback: its group prefers pve2" in move.message
    assert lab.inventory().guest("qemu/101").node == "pve2"  # type: ignore[union-attr]


def test_without_a_quorate_master_no_node_changes_state(clock: ManualClock) -> None:
    """Node states change only through a quorate master: a 1|1 split leaves the last
    written states (online) as they were."""
    backend = SimBackend(SimCluster(scenario="split-brain"), clock=clock)
    wait(clock, backend, 100)
    assert backend.ha.master is None
    assert {n.ha_state for n in backend.sim.nodes.values()} == {NodeHAState.ONLINE}
    assert not any(e.kind in ("node_lost", "fence") for e in backend.events())


IDLE_LESSON = """
name = "idle"
nodes = ["n1", "n2", "n3"]
[services]
"vm:101" = { node = "n2", state = "ignored" }
[[steps]]
at = 30
do = "service vm:101 started"
"""


def test_an_idle_crm_takes_no_lock_until_ha_has_work(tmp_path: Path,
                                                     clock: ManualClock) -> None:
    """CRM.pm's can_get_active: with no HA service to manage no CRM becomes master and
    the manager status stays empty; the first request makes one, and its first round
    puts every node online."""
    lesson = tmp_path / "idle.toml"
    lesson.write_text(IDLE_LESSON)
    backend = SimBackend(SimCluster(scenario=str(lesson)), clock=clock)
    t0 = backend.now()
    wait(clock, backend, 25)
    assert backend.ha.master is None
    assert [n.ha_state for n in backend.inventory().nodes] == [None, None, None]
    wait(clock, backend, 60)
    assert backend.ha.master == "n1"
    online = [e for e in backend.events() if e.kind == "node_online"]
    assert sorted(e.node or "" for e in online) == ["n1", "n2", "n3"]
    assert all(t0 + 30 <= e.time <= t0 + 30 + ROUND for e in online)
    assert [n.ha_state for n in backend.inventory().nodes] == [NodeHAState.ONLINE] * 3
    guest = backend.inventory().guest("qemu/101")
    assert guest is not None and guest.node == "n2" and guest.running


def test_the_moves_of_one_round_count_on_their_targets(lab: SimBackend,
                                                       clock: ManualClock) -> None:
    """Usage.pm's add_service_usage: a service in `migrate` counts on its target too,
    so a node drained in one round spreads its services instead of piling them on the
    node that was least loaded before the round."""
    lab.ha_set("lxc/201", HASettings(request=HARequest.STARTED))  # pve2: db1 and proxy1
    wait(clock, lab, 30)
    lab.set_maintenance("pve2", True)
    wait(clock, lab, 120)
    moves = [e for e in lab.events() if e.kind == "ha_move" and e.node == "pve2"]
    assert len(moves) == 2 and moves[0].time == moves[1].time  # one round
    inventory = lab.inventory()
    targets = {g: inventory.guest(g).node for g in ("qemu/101", "lxc/201")}  # type: ignore[union-attr]
    assert sorted(targets.values()) == ["pve1", "pve3"]


def test_a_strict_rule_brings_a_service_back_even_without_failback(
        lab: SimBackend, clock: ManualClock) -> None:
    """Manager.pm's select_service_node: `nofailback` keeps a service where it is only
    on a node its rules allow; migrated by hand off a strict rule's nodes, it goes back."""
    lab.ha_group_set("only-pve1", {"pve1": 1}, restricted=True, nofailback=True)
    lab.ha_set("qemu/100", HASettings(request=HARequest.STARTED, group="only-pve1"))
    wait(clock, lab, 20)
    lab.migrate("qemu/100", "pve2", MigrationMode.LIVE)
    wait(clock, lab, 120)
    moves = [e for e in lab.events() if e.kind == "ha_move" and e.guest == "qemu/100"]
    assert [e.node for e in moves] == ["pve1", "pve2"]  # out by hand, back by the rule
    assert lab.inventory().guest("qemu/100").node == "pve1"  # type: ignore[union-attr]
