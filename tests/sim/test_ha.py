"""Issue 7's timeline: a node failure, a lost CRM master, a partition 1|2, restarts and
relocations that end in error, maintenance and failback, a short network cut."""

from __future__ import annotations

import pytest

from tests.sim.conftest import wait
from vmconsole.backends.abilities import ClusterEvent, FaultKind
from vmconsole.backends.base import Conflict, InvalidInput, MigrationMode
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.backends.sim.scenarios import runs_twice
from vmconsole.backends.sim.timing import (
    FENCE_DELAY,
    IDLE_ROUNDS,
    LOCK_LEASE,
    ROUND,
    WATCHDOG_TIMEOUT,
)
from vmconsole.config import SimCluster
from vmconsole.model import GuestStatus, HARequest, HAState, NodeHAState, NodeStatus


def first(events: list[ClusterEvent], kind: str, node: str | None = None) -> ClusterEvent:
    return next(e for e in events if e.kind == kind and (node is None or e.node == node))


def test_node_failure_timeline(lab: SimBackend, clock: ManualClock) -> None:
    """dns1 (HA, on pve3): unknown on the master's next round, fence 60 s after the last
    round that saw pve3 online, recovery on the first round after the lock lease expires,
    started and booted on another node."""
    t0 = lab.now()
    lab.inject_fault("pve3", FaultKind.POWER_OFF)
    inventory = lab.inventory()
    pve3 = inventory.node("pve3")
    assert pve3 is not None and pve3.ha_state is NodeHAState.ONLINE  # the CRM has not looked
    assert pve3.status is NodeStatus.OFFLINE
    assert inventory.quorum is not None and inventory.quorum.votes == 2
    assert inventory.quorum.quorate
    wait(clock, lab, ROUND)
    assert lab.inventory().node("pve3").ha_state is NodeHAState.UNKNOWN  # type: ignore[union-attr]
    wait(clock, lab, 190)
    events = [e for e in lab.events() if e.time >= t0]
    lost = first(events, "node_lost", "pve3")
    assert 0 < lost.time - t0 <= ROUND and "waiting for the 60 s fence delay" in lost.message
    fence = first(events, "fence", "pve3")
    assert FENCE_DELAY <= fence.time - t0 < FENCE_DELAY + ROUND  # last seen in (t0-10, t0]
    fenced = first(events, "fenced", "pve3")
    lease_end = lab.sim.nodes["pve3"].lrm.lock_renewed + LOCK_LEASE
    assert lease_end <= fenced.time < lease_end + ROUND and fenced.time - t0 > 100
    recovery = first(events, "recovered")
    started = first(events, "started")
    assert recovery.guest == started.guest == "lxc/200"
    assert fence.time < fenced.time <= recovery.time < started.time
    assert started.time - recovery.time <= 10 + 2  # the target LRM's round, then the start
    guest = lab.inventory().guest("lxc/200")
    assert guest is not None and guest.running and guest.node in ("pve1", "pve2")
    assert guest.ha is not None and guest.ha.state is HAState.STARTED
    assert lab.probe("lxc/200") is not None
    down, up = lab.sim.reach_log["lxc/200"][-2:]
    assert 110 < up[0] - down[0] < 150  # about two minutes plus boot


def test_a_lost_crm_master_is_replaced_when_its_lock_expires(lab: SimBackend,
                                                            clock: ManualClock) -> None:
    t0 = lab.now()
    assert lab.ha.master == "pve1"
    lab.inject_fault("pve1", FaultKind.POWER_OFF)
    wait(clock, lab, 200)
    events = [e for e in lab.events() if e.time >= t0]
    takeover = first(events, "crm_master")
    assert 110 < takeover.time - t0 <= LOCK_LEASE and lab.ha.master == "pve2"
    assert first(events, "recovered").time >= takeover.time
    guest = lab.inventory().guest("qemu/100")
    assert guest is not None and guest.running and guest.node != "pve1"


def test_partition_one_against_two(lab: SimBackend, clock: ManualClock) -> None:
    """pve3 alone loses quorum and resets itself by watchdog; its HA guest then runs once,
    on the majority side; its other guest stays down."""
    t0 = lab.now()
    lab.partition([["pve1", "pve2"], ["pve3"]])
    assert lab.ha.quorate == {"pve1": True, "pve2": True, "pve3": False}
    assert lab.probe("lxc/200") is not None  # only the cluster network is split
    wait(clock, lab, 240)
    events = [e for e in lab.events() if e.time >= t0]
    reset = first(events, "watchdog_reset", "pve3")
    assert reset.time - t0 <= 60
    fenced = first(events, "fenced", "pve3")
    assert fenced.time > reset.time
    runs = [r for r in lab.sim.run_log if r.guest == "lxc/200"]
    assert [(r.node, r.end is None) for r in runs] == [("pve3", False), ("pve1", True)]
    assert runs[0].end is not None and runs[0].end < runs[1].start
    assert runs_twice(lab.sim.run_log) == []
    assert lab.sim.instance("qemu/102") is None  # not HA: down with its node


def test_restored_network_before_the_watchdog_fires_means_no_reset(
        lab: SimBackend, clock: ManualClock) -> None:
    t0 = lab.now()
    lab.inject_fault("pve3", FaultKind.CUT_NETWORK)
    assert lab.probe("lxc/200") is None
    wait(clock, lab, 30)
    lab.restore("pve3")
    wait(clock, lab, 200)
    kinds = [e.kind for e in lab.events() if e.time >= t0]
    assert "watchdog_disarmed" in kinds and "watchdog_reset" not in kinds
    assert "fence" not in kinds
    assert lab.sim.nodes["pve3"].ha_state is NodeHAState.ONLINE
    assert [r.node for r in lab.sim.run_log if r.guest == "lxc/200"] == ["pve3"]


def test_failed_starts_use_up_restarts_and_relocations_then_error(
        lab: SimBackend, clock: ManualClock) -> None:
    lab.ha_set("qemu/100", HASettings(request=HARequest.STOPPED, max_restart=1,
                                      max_relocate=1))
    wait(clock, lab, 60)
    assert lab.inventory().guest("qemu/100").status is GuestStatus.STOPPED  # type: ignore[union-attr]
    for node in ("pve1", "pve2", "pve3"):
        lab.inject_fault(node, FaultKind.LOSE_STORAGE)
    t0 = lab.now()
    lab.ha_set("qemu/100", HASettings(request=HARequest.STARTED, max_restart=1,
                                      max_relocate=1))
    wait(clock, lab, 120)
    kinds = [e.kind for e in lab.events() if e.time >= t0 and e.guest == "qemu/100"]
    assert kinds[1:] == ["restart", "relocate", "restart", "service_error"]
    assert kinds.count("restart") == 2 and kinds.count("relocate") == 1
    assert kinds[-1] == "service_error"
    guest = lab.inventory().guest("qemu/100")
    assert guest is not None and guest.ha is not None and guest.ha.state is HAState.ERROR
    assert not guest.running


def test_maintenance_drains_by_migration_and_brings_back(lab: SimBackend,
                                                         clock: ManualClock) -> None:
    lab.set_maintenance("pve1", True)
    # a request: the CRM passes it on, the LRM switches, the CRM acts (three rounds)
    assert lab.inventory().node("pve1").ha_state is NodeHAState.ONLINE  # type: ignore[union-attr]
    wait(clock, lab, 3 * ROUND)
    assert lab.inventory().node("pve1").ha_state is NodeHAState.MAINTENANCE  # type: ignore[union-attr]
    wait(clock, lab, 60)
    web = lab.inventory().guest("qemu/100")
    assert web is not None and web.node != "pve1" and web.running
    test1 = lab.inventory().guest("qemu/103")
    assert test1 is not None and test1.node == "pve1"  # not HA: stays
    lab.set_maintenance("pve1", False)
    wait(clock, lab, 60)
    assert lab.inventory().guest("qemu/100").node == "pve1"  # type: ignore[union-attr]
    assert runs_twice(lab.sim.run_log) == []


def test_failback_to_the_preferred_node(lab: SimBackend, clock: ManualClock) -> None:
    lab.inject_fault("pve2", FaultKind.POWER_OFF)  # db1's group prefers pve2
    wait(clock, lab, 200)
    assert lab.inventory().guest("qemu/101").node != "pve2"  # type: ignore[union-attr]
    lab.restore("pve2")
    wait(clock, lab, 150)
    db = lab.inventory().guest("qemu/101")
    assert db is not None and db.node == "pve2" and db.running
    assert any(e.kind == "ha_move" and "failback" in e.message for e in lab.events())


def test_ha_settings_are_checked(lab: SimBackend, clock: ManualClock) -> None:
    with pytest.raises(InvalidInput) as bad:
        lab.ha_set("qemu/103", HASettings(group="nope", max_restart=11))
    assert set(bad.value.fields) == {"group", "max_restart"}
    with pytest.raises(Conflict, match="not an HA resource"):
        lab.ha_remove("qemu/103")
    assert lab.ha_groups() == ["all-nodes", "prefer-pve2"]
    task = lab.ha_set("qemu/103", HASettings(request=HARequest.STARTED, group="all-nodes"))
    assert task.status.done
    wait(clock, lab, 25)
    guest = lab.inventory().guest("qemu/103")
    assert guest is not None and guest.running and guest.ha is not None
    assert guest.ha.group == "all-nodes" and guest.ha.state is HAState.STARTED
    lab.ha_remove("qemu/103")
    assert lab.inventory().guest("qemu/103").ha is None  # type: ignore[union-attr]


def test_a_stop_request_during_a_migration_is_applied_on_arrival(
        lab: SimBackend, clock: ManualClock) -> None:
    task = lab.migrate("qemu/100", "pve2", MigrationMode.LIVE)
    assert task.status.done and task.operation == "hamigrate"  # a request to the CRM
    assert lab.inventory().guest("qemu/100").ha.state is HAState.STARTED  # type: ignore[union-attr]
    wait(clock, lab, 2 * ROUND)  # the CRM's round, then the LRM's
    assert lab.inventory().guest("qemu/100").ha.state is HAState.MIGRATE  # type: ignore[union-attr]
    assert lab.sim.migrating("qemu/100")
    lab.stop("qemu/100")  # an HA request while the service migrates
    wait(clock, lab, 90)
    guest = lab.inventory().guest("qemu/100")
    assert guest is not None and guest.node == "pve2" and not guest.running
    assert guest.ha is not None and guest.ha.state is HAState.STOPPED


def test_guests_of_a_node_without_quorum_cannot_be_managed(lab: SimBackend) -> None:
    lab.inject_fault("pve3", FaultKind.CUT_NETWORK)
    with pytest.raises(Conflict, match="no quorum"):
        lab.stop("qemu/102")


def test_an_ha_guest_on_local_storage_cannot_be_recovered_elsewhere(
        lab: SimBackend, clock: ManualClock) -> None:
    """build1's disk lives on pve3's local-lvm: when pve3 dies, another node has no such
    volume, so the recovered service fails to start and ends in error."""
    lab.ha_set("qemu/102", HASettings(request=HARequest.STARTED, max_restart=0,
                                      max_relocate=0))
    wait(clock, lab, 20)
    lab.inject_fault("pve3", FaultKind.POWER_OFF)
    wait(clock, lab, 200)
    guest = lab.inventory().guest("qemu/102")
    assert guest is not None and not guest.running
    assert guest.ha is not None and guest.ha.state is HAState.ERROR
    error = next(e for e in lab.events() if e.kind == "service_error")
    assert "on pve3's local storage" in error.message


def test_nofailback_keeps_the_guest_where_it_was_recovered(lab: SimBackend,
                                                           clock: ManualClock) -> None:
    lab.sim.groups["prefer-pve2"].nofailback = True
    lab.inject_fault("pve2", FaultKind.POWER_OFF)
    wait(clock, lab, 200)
    recovered_on = lab.inventory().guest("qemu/101").node  # type: ignore[union-attr]
    lab.restore("pve2")
    wait(clock, lab, 150)
    assert lab.inventory().guest("qemu/101").node == recovered_on != "pve2"  # type: ignore[union-attr]
    assert not any(e.kind == "ha_move" for e in lab.events())


def test_a_node_without_ha_services_keeps_running_without_quorum(
        clock: ManualClock) -> None:
    """LRM.pm: an LRM whose last service left goes idle, and disarms its watchdog, only
    after 60 rounds; after that, losing quorum does not reset the node."""
    lab = SimBackend(SimCluster(), clock=clock)
    lab.ha_remove("lxc/200")  # pve3 now runs no HA service
    wait(clock, lab, IDLE_ROUNDS * ROUND + 1, step=10)
    lab.partition([["pve1", "pve2"], ["pve3"]])
    wait(clock, lab, 300)
    events = lab.events()
    kinds = [e.kind for e in events]
    assert "no_watchdog" in kinds and "watchdog_reset" not in kinds
    assert "went idle after 600 s" in first(events, "no_watchdog", "pve3").message
    assert lab.sim.instance("qemu/102") is not None  # still running, alone
    assert lab.probe("lxc/200") is not None


def test_an_lrm_stays_armed_for_its_idle_rounds_after_its_last_service_left(
        clock: ManualClock) -> None:
    """Proxmox's LRM keeps its agent lock and watchdog for 60 idle rounds: a node whose
    only HA service was just set to `ignored` still resets itself when it loses quorum."""
    lab = SimBackend(SimCluster(), clock=clock)
    lab.ha_set("lxc/200", HASettings(request=HARequest.IGNORED))
    wait(clock, lab, 60)
    lab.partition([["pve1", "pve2"], ["pve3"]])
    wait(clock, lab, 120)
    events = lab.events()
    armed = first(events, "watchdog_armed", "pve3")
    assert "its last HA service left" in armed.message
    assert first(events, "watchdog_reset", "pve3").time - armed.time <= WATCHDOG_TIMEOUT
    assert lab.sim.instance("qemu/102") is None  # the reset took its guests down


def test_an_admin_reboot_freezes_ha_services_and_starts_them_again_on_the_node(
        lab: SimBackend, clock: ManualClock) -> None:
    t0 = lab.now()
    lab.reboot_node("pve3")
    dns = lab.inventory().guest("lxc/200")
    assert dns is not None and dns.ha is not None and dns.ha.state is HAState.FREEZE
    wait(clock, lab, 10)
    assert lab.probe("lxc/200") is None  # shut down for the reboot
    wait(clock, lab, 300)
    events = [e for e in lab.events() if e.time >= t0]
    kinds = [e.kind for e in events]
    assert "fence" not in kinds and "recovered" not in kinds  # frozen, not failed over
    assert "frozen and wait" in first(events, "node_lost", "pve3").message
    dns = lab.inventory().guest("lxc/200")
    assert dns is not None and dns.node == "pve3" and dns.running
    assert dns.ha is not None and dns.ha.state is HAState.STARTED
    build = lab.inventory().guest("qemu/102")  # not HA, ignores ACPI: stopped after 180 s
    assert build is not None and not build.running
    assert [r.node for r in lab.sim.run_log if r.guest == "lxc/200"] == ["pve3", "pve3"]
