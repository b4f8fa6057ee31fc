"""Disarming the HA stack (PVE 9.2's disarm-ha freeze|ignore, arm-ha)."""

from __future__ import annotations

import pytest

from tests.sim.conftest import wait
from vmconsole.backends.abilities import FaultKind
from vmconsole.backends.base import Conflict, InvalidInput
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.backends.sim.timing import ROUND
from vmconsole.model import HAState, NodeHAState


def fencing(lab: SimBackend) -> str:
    return next(line for line in lab.ha_status() if line.startswith("fencing:"))


def test_disarm_freeze_then_a_lost_node_is_not_fenced(lab: SimBackend,
                                                      clock: ManualClock) -> None:
    assert fencing(lab) == "fencing: armed"
    lab.disarm_ha("freeze")
    wait(clock, lab, 3 * ROUND)
    assert fencing(lab) == "fencing: standby (disarmed: freeze)"
    dns = lab.inventory().guest("lxc/200")
    assert dns is not None and dns.running and dns.ha is not None
    assert dns.ha.state is HAState.FREEZE  # frozen, still running
    lab.partition([["pve1", "pve2"], ["pve3"]])
    wait(clock, lab, 300)
    kinds = [e.kind for e in lab.events()]
    assert "ha_disarmed" in kinds
    assert "watchdog_reset" not in kinds and "fence" not in kinds
    assert lab.sim.instance("lxc/200") is not None  # pve3 keeps running, nobody fences


def test_arm_resumes_frozen_services(lab: SimBackend, clock: ManualClock) -> None:
    lab.disarm_ha("freeze")
    wait(clock, lab, 3 * ROUND)
    lab.arm_ha()
    wait(clock, lab, 3 * ROUND)
    assert fencing(lab) == "fencing: armed"
    web = lab.inventory().guest("qemu/100")
    assert web is not None and web.ha is not None and web.ha.state is HAState.STARTED
    assert "ha_armed" in [e.kind for e in lab.events()]


def test_disarm_ignore_leaves_requests_unapplied_until_armed(
        lab: SimBackend, clock: ManualClock) -> None:
    lab.disarm_ha("ignore")
    wait(clock, lab, 3 * ROUND)
    lab.stop("qemu/100")  # a request, written, but nothing manages the service
    wait(clock, lab, 60)
    assert lab.inventory().guest("qemu/100").running  # type: ignore[union-attr]
    lab.arm_ha()
    wait(clock, lab, 60)
    assert not lab.inventory().guest("qemu/100").running  # type: ignore[union-attr]


def test_disarm_waits_for_a_fence_to_finish(lab: SimBackend, clock: ManualClock) -> None:
    lab.inject_fault("pve3", FaultKind.POWER_OFF)
    wait(clock, lab, 75)  # dns1 is in fence
    lab.disarm_ha("freeze")
    wait(clock, lab, 120)
    events = [e.kind for e in lab.events()]
    assert events.index("recovered") < events.index("ha_disarmed")


def test_disarm_requests_are_checked(lab: SimBackend, clock: ManualClock) -> None:
    with pytest.raises(InvalidInput, match="unknown disarm mode"):
        lab.disarm_ha("sleep")
    with pytest.raises(Conflict, match="armed already"):
        lab.arm_ha()
    lab.disarm_ha("freeze")
    wait(clock, lab, ROUND)
    with pytest.raises(Conflict, match="already disarmed"):
        lab.disarm_ha("ignore")


def test_an_lrm_restart_freezes_services_that_keep_running(lab: SimBackend,
                                                           clock: ManualClock) -> None:
    lab.restart_lrm("pve3")
    wait(clock, lab, ROUND + 1)
    dns = lab.inventory().guest("lxc/200")
    assert dns is not None and dns.ha is not None and dns.ha.state is HAState.FREEZE
    assert dns.running and lab.probe("lxc/200") is not None
    wait(clock, lab, 3 * ROUND)
    dns = lab.inventory().guest("lxc/200")
    assert dns is not None and dns.ha is not None and dns.ha.state is HAState.STARTED


def test_a_crm_restart_on_the_master_hands_the_lock_over(lab: SimBackend,
                                                         clock: ManualClock) -> None:
    lab.restart_crm("pve1")  # the master: releases the lock; the first candidate takes it
    wait(clock, lab, ROUND)
    assert lab.ha.master == "pve1"
    takeover = [e for e in lab.events() if e.kind == "crm_master"]
    assert takeover and takeover[0].time - lab.events()[0].time <= ROUND


def test_skipped_crm_rounds_delay_the_fence(lab: SimBackend, clock: ManualClock) -> None:
    t0 = lab.now()
    lab.inject_fault("pve3", FaultKind.POWER_OFF)
    lab.skip_rounds("crm", 3)
    wait(clock, lab, 120)
    lost = next(e for e in lab.events() if e.kind == "node_lost")
    assert 3 * ROUND < lost.time - t0 <= 4 * ROUND  # the first three rounds are skipped
    with pytest.raises(InvalidInput):
        lab.skip_rounds("disk", 1)


def test_recovery_removes_a_leftover_backup_lock(lab: SimBackend, clock: ManualClock) -> None:
    """Manager.pm's fence_recovery_cleanup: locks that are safe to drop once the node was
    reset (backup, snapshot, migrate ...) go, so the recovered service can start."""
    lab.lock_guest("lxc/200", "backup")
    assert lab.inventory().guest("lxc/200").lock == "backup"  # type: ignore[union-attr]
    lab.inject_fault("pve3", FaultKind.POWER_OFF)
    wait(clock, lab, 200)
    removed = next(e for e in lab.events() if e.kind == "lock_removed")
    assert "leftover lock 'backup'" in removed.message
    dns = lab.inventory().guest("lxc/200")
    assert dns is not None and dns.lock is None and dns.running and dns.node != "pve3"
    with pytest.raises(Conflict, match="not locked"):
        lab.lock_guest("lxc/200", None)


def test_a_failing_cluster_file_system_holds_the_masters_decisions(
        lab: SimBackend, clock: ManualClock) -> None:
    """pve-ha-manager's cfs tests: while the master's pmxcfs fails, a stop request
    waits; nothing is fenced; it is applied once the file system works again."""
    lab.set_cfs_failure("pve1", True)  # pve1 is the master
    lab.stop("qemu/101")
    wait(clock, lab, 100)
    assert lab.inventory().guest("qemu/101").running  # type: ignore[union-attr]
    assert not any(e.kind in ("fence", "watchdog_reset") for e in lab.events())
    lab.set_cfs_failure("pve1", False)
    wait(clock, lab, 60)
    assert not lab.inventory().guest("qemu/101").running  # type: ignore[union-attr]


def test_a_node_in_maintenance_stays_in_maintenance_while_disarmed(
        lab: SimBackend, clock: ManualClock) -> None:
    """Its LRM keeps its maintenance mode (LRM.pm), and the CRM waits only for the
    online nodes' LRMs to disarm (Manager.pm): the node does not turn online."""
    lab.set_maintenance("pve1", True)
    wait(clock, lab, 120)  # web1 drained
    lab.disarm_ha("freeze")
    wait(clock, lab, 60)
    assert any(e.kind == "ha_disarmed" for e in lab.events())
    assert lab.inventory().node("pve1").ha_state is NodeHAState.MAINTENANCE  # type: ignore[union-attr]
    lab.arm_ha()
    wait(clock, lab, 60)
    assert lab.inventory().node("pve1").ha_state is NodeHAState.MAINTENANCE  # type: ignore[union-attr]
    assert lab.inventory().guest("qemu/100").node != "pve1"  # type: ignore[union-attr]


def test_services_return_from_a_maintenance_ended_while_disarmed_once_armed(
        lab: SimBackend, clock: ManualClock) -> None:
    """Manager.pm: with HA disarmed nothing is moved; the services that left for the
    maintenance go back when HA is armed again."""
    lab.set_maintenance("pve1", True)
    wait(clock, lab, 120)  # web1 drained
    lab.disarm_ha("ignore")
    wait(clock, lab, 60)
    lab.set_maintenance("pve1", False)
    wait(clock, lab, 60)
    assert lab.inventory().node("pve1").ha_state is NodeHAState.ONLINE  # type: ignore[union-attr]
    assert lab.inventory().guest("qemu/100").node != "pve1"  # type: ignore[union-attr]
    lab.arm_ha()
    wait(clock, lab, 60)
    assert lab.inventory().guest("qemu/100").node == "pve1"  # type: ignore[union-attr]


def test_a_disarm_in_the_same_round_prunes_a_relocate_command(
        lab: SimBackend, clock: ManualClock) -> None:
    # Both reach the CRM on its next round; Manager.pm's handle_disarm deletes the
    # services' pending commands, so web1 is frozen where it runs and stays there.
    lab.ha_relocate("qemu/100", "pve2")
    lab.disarm_ha("freeze")
    wait(clock, lab, 3 * ROUND)
    lab.arm_ha()
    wait(clock, lab, 6 * ROUND)
    web = lab.inventory().guest("qemu/100")
    assert web is not None and web.node == "pve1" and web.running
    dropped = [e.message for e in lab.events() if e.guest == "qemu/100"
               and e.kind == "ha_move_refused"]
    assert dropped == ["100: relocate request dropped - the HA stack is disarmed (freeze), "
                       "which prunes pending commands"]
