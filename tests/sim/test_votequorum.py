"""corosync votequorum's options next to the QDevice, and the split narration that says
which side may act and why."""

from __future__ import annotations

from tests.sim.conftest import wait
from vmconsole.backends.abilities import FaultKind
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.config import SimCluster


def split(backend: SimBackend) -> str:
    return next(e.message for e in backend.events() if e.kind == "split")


def test_a_plain_two_node_split_says_no_side_may_act(clock: ManualClock) -> None:
    backend = SimBackend(SimCluster(scenario="split-brain"), clock=clock)
    wait(clock, backend, 20)
    story = split(backend)
    assert "pve1: 1 of 2 votes, not quorate" in story
    assert "no side may act" in story and "fences itself by its watchdog" in story
    assert backend.inventory().quorum.votes == 1  # type: ignore[union-attr]


def test_two_node_keeps_both_sides_quorate_and_a_guest_runs_twice(
        clock: ManualClock) -> None:
    backend = SimBackend(SimCluster(scenario="split-brain-two-node"), clock=clock)
    wait(clock, backend, 250)
    assert backend.ha.quorate == {"pve1": True, "pve2": True}
    assert "more than one side is quorate" in split(backend)
    assert "RAN TWICE: qemu/101" in backend.scenario_summary()


def test_auto_tie_breaker_gives_the_lowest_node_id_the_quorum(clock: ManualClock) -> None:
    backend = SimBackend(SimCluster(scenario="split-brain-tie-breaker"), clock=clock)
    wait(clock, backend, 250)
    assert backend.ha.quorate == {"pve1": True, "pve2": False}
    assert "auto_tie_breaker: an even split" in split(backend)
    guest = backend.inventory().guest("qemu/101")
    assert guest is not None and guest.node == "pve1" and guest.running
    assert backend.scenario_summary()[-1] == "no guest ever ran on two nodes at once"


def test_last_man_standing_shrinks_the_expected_votes(clock: ManualClock) -> None:
    backend = SimBackend(SimCluster(scenario="last-man-standing"), clock=clock)
    wait(clock, backend, 25)
    quorum = backend.inventory().quorum
    assert quorum is not None and (quorum.votes, quorum.expected) == (2, 2)
    wait(clock, backend, 400)
    quorum = backend.inventory().quorum
    assert quorum is not None and quorum.quorate and (quorum.votes, quorum.expected) == (1, 1)
    for guest_id in ("qemu/100", "qemu/101", "lxc/200"):
        guest = backend.inventory().guest(guest_id)
        assert guest is not None and guest.node == "pve1" and guest.running


def test_wait_for_all_withholds_quorum_after_a_cold_start(lab: SimBackend,
                                                         clock: ManualClock) -> None:
    lab.sim.votequorum.wait_for_all = True
    for node in ("pve1", "pve2", "pve3"):
        lab.inject_fault(node, FaultKind.POWER_OFF)
    lab.restore("pve1")
    lab.restore("pve2")
    wait(clock, lab, 90)
    quorum = lab.inventory().quorum
    assert quorum is not None and quorum.votes == 2 and not quorum.quorate
    lab.restore("pve3")
    wait(clock, lab, 90)
    assert lab.inventory().quorum.quorate  # type: ignore[union-attr]
