"""An admin's node shutdown and reboot under Proxmox's HA shutdown policies (LRM.pm's
shutdown_request: conditional, freeze, failover, migrate)."""

from __future__ import annotations

import pytest

from tests.sim.conftest import wait
from tests.sim.test_ha import first
from vmconsole.backends.base import InvalidInput
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.backends.sim.scenarios import runs_twice
from vmconsole.backends.sim.timing import FENCE_DELAY, ROUND
from vmconsole.model import HARequest, HAState


def test_a_shutdown_under_the_default_policy_fails_over_without_a_lock_wait(
        lab: SimBackend, clock: ManualClock) -> None:
    """conditional = failover on a shutdown: the LRM stops dns1 and releases its lock,
    so the CRM recovers it on the fence round, with no 120 s lease to wait for."""
    t0 = lab.now()
    lab.shutdown_node("pve3")  # build1 ignores ACPI: stopped after 180 s
    wait(clock, lab, 300)
    events = [e for e in lab.events() if e.time >= t0]
    assert "shutdown policy conditional" in first(events, "node_shutdown", "pve3").message
    lost = first(events, "node_lost", "pve3")
    fenced = first(events, "fenced", "pve3")
    assert fenced.time == first(events, "fence", "pve3").time  # the lock was free
    assert FENCE_DELAY - ROUND <= fenced.time - lost.time <= FENCE_DELAY
    assert "watchdog_reset" not in [e.kind for e in events]
    guest = lab.inventory().guest("lxc/200")
    assert guest is not None and guest.node != "pve3" and guest.running
    assert not lab.sim.nodes["pve3"].powered  # a shutdown: it stays off


def test_a_shutdown_under_the_freeze_policy_keeps_services_on_the_node(
        lab: SimBackend, clock: ManualClock) -> None:
    lab.set_shutdown_policy("freeze")
    lab.shutdown_node("pve3")
    wait(clock, lab, 300)
    guest = lab.inventory().guest("lxc/200")
    assert guest is not None and guest.node == "pve3" and not guest.running
    assert guest.ha is not None and guest.ha.state is HAState.FREEZE
    assert not any(e.kind in ("fence", "recovered") for e in lab.events())


def test_a_reboot_under_the_migrate_policy_drains_first_and_brings_back(
        lab: SimBackend, clock: ManualClock) -> None:
    lab.set_shutdown_policy("migrate")
    t0 = lab.now()
    lab.reboot_node("pve1")  # web1 (HA) runs there; test1 is not HA
    wait(clock, lab, 400)
    events = [e for e in lab.events() if e.time >= t0]
    moved = first(events, "migration_done")
    assert moved.guest == "qemu/100" and moved.time < first(events, "node_booted").time
    assert lab.probe("qemu/100") is not None  # never down: migrated live, both ways
    assert [r.node for r in lab.sim.run_log if r.guest == "qemu/100"][-1] == "pve1"
    assert "fence" not in [e.kind for e in events]
    assert runs_twice(lab.sim.run_log) == []


def test_the_master_shutting_down_hands_over_at_once(lab: SimBackend,
                                                     clock: ManualClock) -> None:
    """A CRM that exits cleanly releases the manager lock: no 120 s lease."""
    assert lab.ha.master == "pve1"
    lab.shutdown_node("pve1")
    wait(clock, lab, 60)
    lost = first(lab.events(), "crm_master_lost")
    takeover = first(lab.events(), "crm_master")
    assert takeover.time - lost.time <= ROUND and lab.ha.master == "pve2"


def test_an_unknown_shutdown_policy_is_refused(lab: SimBackend) -> None:
    with pytest.raises(InvalidInput, match="unknown shutdown policy"):
        lab.set_shutdown_policy("panic")


def test_a_node_leaves_only_after_its_lrm_and_then_its_crm_have_exited(
        lab: SimBackend, clock: ManualClock) -> None:
    """LRM.pm exits on its first round with no service left, pve-ha-crm (stopped after
    it) on its own next round; only then does the node go down: at least one full round
    after its last guest stopped."""
    lab.set_shutdown_policy("freeze")
    lab.shutdown_node("pve2")  # db1 (HA) and proxy1 shut down in seconds
    wait(clock, lab, 120)
    last_off = max(r.end or 0.0 for r in lab.sim.run_log if r.node == "pve2")
    left = next(e for e in lab.events() if e.kind == "quorum" and "2 of 3" in e.message)
    assert ROUND < left.time - last_off <= 3 * ROUND
    assert not lab.sim.nodes["pve2"].powered


def test_a_node_in_maintenance_shuts_down_in_maintenance_whatever_the_policy(
        lab: SimBackend, clock: ManualClock) -> None:
    """LRM.pm: with manual maintenance enabled the shutdown policy is ignored: the node
    stays in maintenance while it is off (no fence, no failover) and comes back in it."""
    lab.set_maintenance("pve1", True)
    wait(clock, lab, 120)  # web1 migrated away
    lab.shutdown_node("pve1")  # conditional: a shutdown would fail over
    wait(clock, lab, 300)
    assert not lab.sim.nodes["pve1"].powered
    node = lab.inventory().node("pve1")
    assert node is not None and node.ha_state == "maintenance"
    assert "shutdown policy (conditional) is ignored" in first(
        lab.events(), "node_shutdown", "pve1").message
    assert not any(e.kind in ("node_lost", "fence") for e in lab.events())
    web1 = lab.inventory().guest("qemu/100")
    assert web1 is not None and web1.node != "pve1" and web1.running


def test_a_service_started_on_a_node_gone_in_maintenance_is_fenced_and_recovered(
        lab: SimBackend, clock: ManualClock) -> None:
    """Manager.pm's next_state_started: a node in maintenance is not online; once it has
    been gone for the fence delay, a service that should run there is fenced (its LRM
    exited cleanly and released its lock: no lease to wait for) and recovered."""
    lab.set_shutdown_policy("migrate")
    lab.shutdown_node("pve1")  # web1 migrates away; test1 (stopped) stays on pve1
    wait(clock, lab, 200)
    assert not lab.sim.nodes["pve1"].powered
    t0 = lab.now()
    lab.ha_set("qemu/103", HASettings(request=HARequest.STARTED))
    wait(clock, lab, 120)
    events = [e for e in lab.events() if e.time >= t0]
    assert first(events, "fenced", "pve1").time == first(events, "fence", "pve1").time
    test1 = lab.inventory().guest("qemu/103")
    assert test1 is not None and test1.node != "pve1" and test1.running
