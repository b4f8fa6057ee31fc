"""PVE 9.2's auto-rebalance as Manager.pm's load_balance runs it, each rule on a small
cluster of our own written in pve-ha-manager's test directory format: the imbalance is
the coefficient of variation of the nodes' loads (a node's load the mean of its CPU and
memory fractions), held above the threshold for the hold's rounds, and the best move
must lower it by the margin relative to itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sim.test_crs_placement import _case, _play
from vmconsole.backends.sim import SimBackend, ha_usage
from vmconsole.balance.planner import imbalance, node_imbalance

GiB = 2**30
# Three nodes of 16 CPUs and 64 GiB; four services of 4 CPUs and 16 GiB all on alpha:
# each adds (4/16 + 16/64) / 2 = 0.25 to its node's load.
SIZES = {"alpha": (16, 64 * GiB), "bravo": (16, 64 * GiB), "charlie": (16, 64 * GiB)}
ON_ALPHA = {f"vm:{n}": "alpha" for n in (401, 402, 403, 404)}
STATS = {sid: (4.0, 16 * GiB) for sid in ON_ALPHA}
AUTO = {"ha-auto-rebalance": 1}


def _rebalances(backend: SimBackend) -> list[str]:
    return [e.message for e in backend.events() if "auto rebalance (" in e.message]


def test_the_imbalance_is_the_coefficient_of_variation_of_the_node_loads() -> None:
    assert node_imbalance([1.0, 0.0, 0.0]) == pytest.approx(2 ** 0.5)  # all on one of 3
    assert node_imbalance([0.5, 0.25, 0.25]) == pytest.approx(0.3536, abs=1e-4)
    assert node_imbalance([0.3, 0.3]) == 0.0 and node_imbalance([0.0, 0.0]) == 0.0
    assert node_imbalance([0.9]) == 0.0  # one node cannot be uneven


def test_auto_rebalance_moves_until_no_move_gains_its_margin(tmp_path: Path) -> None:
    case = _case(tmp_path / "four", "static", SIZES, ON_ALPHA, [], STATS, **AUTO)
    backend = _play(case, 400)
    moves = _rebalances(backend)
    # loads 1.0, 0, 0 (1.41); the lowest sid goes first, to the first node by name on a
    # tie; then 0.75, 0.25, 0 (0.94) -> 0.5, 0.25, 0.25 (0.35), still above 0.3, but
    # a third move only swaps two nodes' loads: no gain, no move
    assert [m.split(":")[0] for m in moves] == ["401 moves to bravo", "402 moves to charlie"]
    assert "imbalance expected from 1.41 to 0.94" in moves[0]
    assert "imbalance expected from 0.94 to 0.35" in moves[1]
    usage = ha_usage.node_usage(backend.sim, backend.ha.services.online(), "static")
    assert imbalance(usage) == pytest.approx(0.3536, abs=1e-4)


def test_auto_rebalance_waits_for_its_hold_and_needs_its_margin(tmp_path: Path) -> None:
    def first_move(name: str, hold: int) -> float:
        backend = _play(_case(tmp_path / name, "static", SIZES, ON_ALPHA, [], STATS, **AUTO,
                              **{"ha-auto-rebalance-hold-duration": hold}), 300)
        return next(e.time for e in backend.events() if "auto rebalance (" in e.message)
    # two more harness rounds (20 s each) of imbalance before the first move
    assert first_move("held", 5) - first_move("default", 3) == pytest.approx(40, abs=10)
    # the best first move lowers 1.41 to 0.94, by a third of it: a margin of 0.4 refuses
    picky = _play(_case(tmp_path / "picky", "static", SIZES, ON_ALPHA, [], STATS, **AUTO,
                        **{"ha-auto-rebalance-margin": 0.4}), 300)
    assert _rebalances(picky) == []


def test_auto_rebalance_is_for_the_static_and_dynamic_schedulers_only(tmp_path: Path) -> None:
    backend = _play(_case(tmp_path / "basic", "basic", SIZES, ON_ALPHA, [], STATS, **AUTO), 300)
    assert _rebalances(backend) == []
    assert all(g.node == "alpha" for g in backend.sim.guests.values())


def test_keep_together_services_move_as_one_bundle(tmp_path: Path) -> None:
    services = {"vm:411": "alpha", "vm:412": "alpha", "vm:413": "alpha"}
    case = _case(tmp_path / "bundle", "static", SIZES, services, [],
                 {sid: (4.0, 16 * GiB) for sid in services}, **AUTO)
    (case / "rules_config").write_text("resource-affinity: pair\n\tresources vm:412,vm:411\n"
                                       "\taffinity positive\n")
    backend = _play(case, 300)
    moves = _rebalances(backend)
    # the pair led by vm:411 (its lowest sid) or vm:413 alone: 0.75, 0, 0 -> 0.25, 0.5, 0
    # or 0.5, 0.25, 0 (1.41 -> 0.82) either way; the tie goes to the lower sid. After it,
    # every move only swaps two nodes' loads: nothing more moves.
    assert len(moves) == 1 and moves[0].startswith("411 moves to bravo")
    assert "imbalance expected from 1.41 to 0.82" in moves[0]
    partner = next(e.message for e in backend.events()
                   if e.guest == "qemu/412" and e.kind == "ha_move")
    assert partner.startswith("412 moves to bravo: auto rebalance of vm:411")
    assert backend.sim.guests["qemu/411"].node == backend.sim.guests["qemu/412"].node == "bravo"


def test_the_topsis_method_ranks_the_cluster_after_each_move(tmp_path: Path) -> None:
    # bravo is small: one service fills it (load 1.0). Bruteforce takes the lowest
    # imbalance (0.75, 1.0, 0.125: 0.73) and fills it; TOPSIS weighs the highest CPU and
    # memory after the move too and sends the service to charlie, the big node, twice.
    sizes = {"alpha": (16, 64 * GiB), "bravo": (4, 16 * GiB), "charlie": (32, 128 * GiB)}
    moves = {}
    for method in ("bruteforce", "topsis"):
        case = _case(tmp_path / method, "static", sizes, ON_ALPHA, [], STATS, **AUTO,
                     **{"ha-auto-rebalance-method": method})
        moves[method] = [m.split(":")[0] for m in _rebalances(_play(case, 300))]
    assert moves == {"bruteforce": ["401 moves to bravo"],
                     "topsis": ["401 moves to charlie", "402 moves to charlie"]}


def test_auto_rebalance_waits_out_the_round_after_a_move(tmp_path: Path) -> None:
    backend = _play(_case(tmp_path / "gap", "static", SIZES, ON_ALPHA, [], STATS, **AUTO),
                    400)
    times = [e.time for e in backend.events() if "auto rebalance (" in e.message]
    # Manager.pm's load_balance runs before the round's state loop: the round after a
    # move still reads the service `migrate` (landed by then) and waits; then the hold's
    # three rounds of imbalance. Four harness loops of 20 s.
    assert times[1] - times[0] == pytest.approx(4 * 20, abs=0.5)
