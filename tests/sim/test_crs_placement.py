"""The CRS mode in every HA placement (Manager.pm's select_service_node with Usage/Basic.pm,
Usage/Static.pm, Usage/Dynamic.pm): each test is a small cluster of our own, written as
pve-ha-manager's test directory format, played in the simulator; what it checks is where
the service goes and what the narration a student reads says about every candidate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sim.conftest import wait
from vmconsole.backends.abilities import ClusterEvent
from vmconsole.backends.base import InvalidInput
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.backends.sim.ha_testrun import compare
from vmconsole.balance.planner import Usage, topsis_scores
from vmconsole.config import SimCluster
from vmconsole.ha import rules

GiB = 2**30


def _case(path: Path, mode: str, sizes: dict[str, tuple[int, int]],
          services: dict[str, str], rounds: list[list[str]],
          static: dict[str, tuple[float, int]] | None = None,
          dynamic: dict[str, tuple[float, int]] | None = None, **crs: object) -> Path:
    """Write a test directory: nodes (name -> CPUs, bytes), started services (sid ->
    node), the cmdlist after the power-on line, the stats and datacenter.cfg's crs."""
    path.mkdir()
    (path / "hardware_status").write_text(json.dumps(
        {n: {"power": "off", "network": "off", "maxcpu": c, "maxmem": m}
         for n, (c, m) in sizes.items()}))
    (path / "service_config").write_text(json.dumps(
        {sid: {"node": node, "state": "started"} for sid, node in services.items()}))
    (path / "cmdlist").write_text(json.dumps(
        [[f"power {n} on" for n in sizes], *rounds]))
    (path / "datacenter.cfg").write_text(json.dumps({"crs": {"ha": mode, **crs}}))
    if static is not None:
        (path / "static_service_stats").write_text(json.dumps(
            {sid: {"maxcpu": c, "maxmem": m} for sid, (c, m) in static.items()}))
    if dynamic is not None:
        (path / "dynamic_service_stats").write_text(json.dumps(
            {sid: {"cpu": c, "mem": m} for sid, (c, m) in dynamic.items()}))
    return path


def _play(path: Path, seconds: float) -> SimBackend:
    clock = ManualClock()
    backend = SimBackend(SimCluster(scenario=str(path)), clock=clock)
    wait(clock, backend, seconds, step=2.0)
    return backend


def _event(backend: SimBackend, kind: str, guest: str) -> ClusterEvent:
    return next(e for e in backend.events() if e.kind == kind and e.guest == guest)


# A small node, a second small one, and a big one that already runs two HA services:
# the basic scheduler counts services and picks the empty small node; the static one
# weighs CPU and memory and picks the big node.
SIZES = {"alpha": (16, 64 * GiB), "bravo": (16, 64 * GiB), "charlie": (64, 512 * GiB)}
SERVICES = {"vm:301": "alpha", "vm:302": "charlie", "vm:303": "charlie"}
STATIC = {sid: (2.0, 4 * GiB) for sid in SERVICES}


@pytest.mark.parametrize(("mode", "target", "terms"), [
    ("basic", "bravo", "bravo (0 HA services, memory"),
    ("static", "charlie", "charlie (TOPSIS 1.00: CPU 9%, memory 2% with it) chosen"),
])
def test_recovery_places_by_the_scheduler_mode_and_narrates_every_candidate(
        tmp_path: Path, mode: str, target: str, terms: str) -> None:
    case = _case(tmp_path / mode, mode, SIZES, SERVICES, [["network alpha off"]], STATIC)
    backend = _play(case, 300)
    recovered = _event(backend, "recovered", "qemu/301")
    assert recovered.node == target
    assert terms in recovered.message
    assert "alpha out: offline" in recovered.message
    guest = backend.inventory().guest("qemu/301")
    assert guest is not None and guest.node == target and guest.running


def test_the_dynamic_mode_scores_what_the_services_use_now(tmp_path: Path) -> None:
    """Same sizes, one service each on bravo and charlie; bravo's uses 14 of its 16
    CPUs, charlie's almost nothing: the dynamic scheduler recovers to charlie, by the
    measured load the narration quotes."""
    sizes = {"alpha": (16, 64 * GiB), "bravo": (16, 64 * GiB), "charlie": (16, 64 * GiB)}
    services = {"vm:301": "alpha", "vm:302": "bravo", "vm:303": "charlie"}
    dynamic = {"vm:301": (1.0, 2 * GiB), "vm:302": (14.0, 8 * GiB), "vm:303": (0.2, GiB)}
    case = _case(tmp_path / "dyn", "dynamic", sizes, services, [["network alpha off"]],
                 {sid: (4.0, 8 * GiB) for sid in services}, dynamic)
    backend = _play(case, 300)
    recovered = _event(backend, "recovered", "qemu/301")
    assert recovered.node == "charlie"
    assert "bravo (TOPSIS 0.00: CPU 94%, memory 16% with it)" in recovered.message


def test_a_start_goes_first_to_the_best_node_with_rebalance_on_start(tmp_path: Path) -> None:
    """ha-rebalance-on-start (Manager.pm's next_state_request_start): a stopped service
    asked to start is moved to the node the scheduler scores best, then started there;
    one already on its best node starts where it is."""
    case = _case(tmp_path / "start", "static", SIZES, {"vm:302": "charlie"},
                 [["service vm:301 add alpha stopped 0"], ["service vm:301 started"]],
                 {"vm:301": (8.0, 32 * GiB), "vm:302": (2.0, 4 * GiB)},
                 **{"ha-rebalance-on-start": 1})
    backend = _play(case, 300)
    move = _event(backend, "ha_move", "qemu/301")
    assert "re-balance selected new node charlie for startup" in move.message
    assert "alpha (TOPSIS" in move.message and "charlie (TOPSIS" in move.message
    assert _event(backend, "started", "qemu/301").node == "charlie"
    assert not any(e.kind == "ha_move" and e.guest == "qemu/302" for e in backend.events())


def test_set_static_stats_changes_the_next_placement(tmp_path: Path) -> None:
    """The harness's `set-static-stats`: charlie's two services grow to 60 CPUs and
    500 GiB between them, so the recovery now prefers the empty small node."""
    rounds = [["service vm:302 set-static-stats maxcpu 30 maxmem 256000",
               "service vm:303 set-static-stats maxcpu 30 maxmem 256000"],
              ["network alpha off"]]
    backend = _play(_case(tmp_path / "grow", "static", SIZES, SERVICES, rounds, STATIC), 400)
    assert _event(backend, "recovered", "qemu/301").node == "bravo"


@pytest.mark.parametrize(("command", "reason"), [
    ("service vm:301 set-static-stats maxcpu", "key value pairs"),
    ("service vm:301 set-static-stats cpu 2", "one of maxcpu, maxmem"),
    ("service vm:301 set-dynamic-stats mem lots", "one of cpu, mem"),
])
def test_a_stats_command_it_cannot_read_is_named(tmp_path: Path, command: str,
                                                 reason: str) -> None:
    case = _case(tmp_path / "bad", "static", SIZES, SERVICES, [[command]], STATIC)
    result = compare(case)
    assert not result.playable and reason in result.reason


def test_an_unknown_crs_option_is_named(tmp_path: Path) -> None:
    case = _case(tmp_path / "opt", "static", SIZES, SERVICES, [], STATIC,
                 **{"ha-best-guess": 1})
    result = compare(case)
    assert not result.playable and "datacenter.cfg crs options other than" in result.reason


def test_the_console_placement_and_a_maintenance_drain_use_the_mode(
        lab: SimBackend, clock: ManualClock) -> None:
    """On the classic lab: with the static scheduler, the placement view (the
    console's crm_simulate) and the narration of a maintenance drain give each node's
    TOPSIS closeness and the CPU and memory it weighed."""
    lab.set_crs(mode="static")
    lines = lab.placement("qemu/100")
    assert any("TOPSIS" in line and "% with it" in line for line in lines)
    lab.set_maintenance("pve1", True)
    wait(clock, lab, 60)
    drained = next(e for e in lab.events() if e.kind == "ha_move" and e.guest == "qemu/100")
    assert "maintenance of pve1" in drained.message
    assert "pve1 out: the node it leaves" in drained.message
    assert "TOPSIS" in drained.message


def test_topsis_compares_every_online_node_and_is_the_planners_scoring() -> None:
    """Manager.pm scores every online node, then sorts the allowed ones by that score:
    a node a group leaves out still shapes the closeness of the others. The scores are
    the rebalance planner's own (one TOPSIS for both)."""
    usage = {"n1": Usage(1.0, 8, 2 * GiB, 32 * GiB), "n2": Usage(6.0, 8, 24 * GiB, 32 * GiB),
             "n3": Usage(0.0, 8, 0.0, 32 * GiB)}
    views = [rules.NodeView(name, i, None, 0, 0.0, u) for i, (name, u) in enumerate(usage.items())]
    scheduler = rules.Scheduler("static", 2.0, 4 * GiB)
    picked = rules.select_service_node(views, rules.Preferences({"n1": 1, "n2": 1}),
                                       scheduler=scheduler)
    expected = topsis_scores(usage, list(usage), 2.0, 4 * GiB)
    scored = {c.node: c.score.closeness for c in picked if c.score is not None}
    assert scored == {"n1": expected["n1"], "n2": expected["n2"]}
    assert rules.chosen(picked) == "n1"
    assert "n3 out: not in affinity's nodes" in rules.explain(picked)
    with pytest.raises(ValueError, match="scheduler mode 'fancy'"):
        rules.select_service_node(views, rules.Preferences(),
                                  scheduler=rules.Scheduler("fancy"))


def test_the_basic_scheduler_breaks_a_tie_by_node_name() -> None:
    """Usage/Basic.pm scores a node by its HA services only; Manager.pm sorts equal
    scores by name (`$a cmp $b`): a fuller node named first wins the tie, whatever
    the node ids."""
    views = [rules.NodeView("zulu", 1, None, 1, 0.10), rules.NodeView("echo", 2, None, 1, 0.90),
             rules.NodeView("alpha", 3, None, 2, 0.05)]
    picked = rules.select_service_node(views, rules.Preferences())
    assert [c.node for c in picked] == ["echo", "zulu", "alpha"]
    assert rules.describe(picked[0]) == "echo (1 HA services, memory 90%) chosen"


def test_a_stats_file_that_is_not_figures_is_refused(tmp_path: Path) -> None:
    case = _case(tmp_path / "junk", "static", SIZES, SERVICES, [], STATIC)
    (case / "static_service_stats").write_text('{"vm:301": {"maxcpu": "two"}}')
    with pytest.raises(InvalidInput, match="static_service_stats"):
        compare(case)


# --- upstream's fake failing resources (fa:) and the relocation policy ---------------

PLAIN = {"alpha": (4, 16 * GiB), "bravo": (4, 16 * GiB), "charlie": (4, 16 * GiB)}


def _fake_case(path: Path, sid: str, rounds: list[list[str]], **service: object) -> Path:
    path.mkdir()
    (path / "hardware_status").write_text(json.dumps(
        {n: {"power": "off", "network": "off"} for n in PLAIN}))
    (path / "service_config").write_text(json.dumps(
        {sid: {"node": "bravo", "state": "stopped", **service}}))
    (path / "cmdlist").write_text(json.dumps([[f"power {n} on" for n in PLAIN], *rounds]))
    return path


def _kinds(backend: SimBackend, guest: str) -> list[str]:
    return [e.kind for e in backend.events() if e.guest == guest
            and e.kind in ("restart", "relocate", "started", "service_error",
                           "ha_move_refused", "migration_done")]


def test_a_fake_resource_that_fails_once_is_relocated_and_starts_there(tmp_path: Path) -> None:
    """fa:410: its first start fails (VirtFail.pm's second digit); with max_restart 0
    the CRM relocates it on its next round, to the best node it has not failed on, and
    the narration names the candidates with bravo out."""
    case = _fake_case(tmp_path / "once", "fa:410", [["service fa:410 started"]],
                      max_restart=0, max_relocate=1)
    backend = _play(case, 300)
    assert _kinds(backend, "qemu/410") == ["relocate", "started"]
    relocate = _event(backend, "relocate", "qemu/410")
    assert "relocating to alpha" in relocate.message
    assert "bravo out: the node it leaves" in relocate.message
    started = _event(backend, "started", "qemu/410")
    assert started.node == "alpha" and started.time - relocate.time >= 10  # two rounds


def test_a_service_that_failed_everywhere_starts_again_where_it_is(tmp_path: Path) -> None:
    """fa:430 fails three starts, one on each node; max_relocate 3: relocated to each
    node once (never back to one it failed on), then, every node tried, started again on
    the last one, where its fourth try succeeds (Manager.pm's try-next)."""
    case = _fake_case(tmp_path / "all", "fa:430", [["service fa:430 started"]],
                      max_restart=0, max_relocate=3)
    backend = _play(case, 400)
    relocations = [e for e in backend.events() if e.kind == "relocate"]
    assert [e.message.split("relocating to ")[1].split()[0] for e in relocations] == [
        "alpha", "charlie"]
    again = _event(backend, "restart", "qemu/430")
    assert "failed to start on every node (bravo, alpha, charlie)" in again.message
    assert _event(backend, "started", "qemu/430").node == "charlie"


def test_a_fake_resource_in_error_after_its_relocations(tmp_path: Path) -> None:
    case = _fake_case(tmp_path / "err", "fa:490", [["service fa:490 started"]],
                      max_restart=1, max_relocate=1)
    backend = _play(case, 400)
    assert _kinds(backend, "qemu/490") == ["restart", "relocate", "restart", "service_error"]
    guest = backend.inventory().guest("qemu/490")
    assert guest is not None and guest.ha is not None and guest.ha.state.value == "error"


def test_a_failing_migration_leaves_the_service_where_it_runs(tmp_path: Path) -> None:
    """fa:401's first migration fails (third digit): the HA migration request is
    refused by the LRM's error and the service runs on; the second one goes through."""
    case = _fake_case(tmp_path / "mig", "fa:401", [["service fa:401 started"],
                                                    ["service fa:401 migrate alpha"],
                                                    ["service fa:401 migrate alpha"]])
    backend = _play(case, 500)
    assert _kinds(backend, "qemu/401") == ["started", "ha_move_refused", "migration_done"]
    guest = backend.inventory().guest("qemu/401")
    assert guest is not None and guest.node == "alpha" and guest.running


def test_a_fake_resource_it_does_not_model_is_named(tmp_path: Path) -> None:
    result = compare(_fake_case(tmp_path / "x", "fa:12", [["service fa:12 started"]]))
    assert not result.playable and "is not a fake resource id" in result.reason


def test_a_fake_resource_that_cannot_stop_runs_on_in_error(tmp_path: Path) -> None:
    """fa:1001's shutdown fails (VirtFail.pm's fourth digit): asked to stop, its LRM
    cannot, and the CRM puts the service in error on its next round; it runs on."""
    case = _fake_case(tmp_path / "stuck", "fa:1001", [["service fa:1001 started"],
                                                      ["service fa:1001 stopped"]])
    backend = _play(case, 300)
    assert _kinds(backend, "qemu/1001") == ["started", "service_error"]
    assert "unable to stop it (still running" in next(
        e.message for e in backend.events() if e.kind == "service_error")
    guest = backend.inventory().guest("qemu/1001")
    assert guest is not None and guest.running and guest.ha is not None
    assert guest.ha.state == "error"


def test_a_relocation_after_failed_starts_takes_its_keep_together_partners(
        tmp_path: Path) -> None:
    """fa:710002 fails its first start on node2 (the sixth digit); relocated with
    max_restart 0, it takes vm:701, kept together with it, along in the same round
    instead of being pulled back to node2 where it fails again."""
    path = tmp_path / "pair"
    path.mkdir()
    nodes = ("node1", "node2", "node3")
    (path / "hardware_status").write_text(json.dumps(
        {n: {"power": "off", "network": "off"} for n in nodes}))
    (path / "service_config").write_text(json.dumps(
        {"vm:701": {"node": "node2", "state": "started"},
         "fa:710002": {"node": "node2", "state": "stopped", "max_restart": 0}}))
    (path / "rules_config").write_text("resource-affinity: pair\n\tresources vm:701,fa:710002\n"
                                       "\taffinity positive\n")
    (path / "cmdlist").write_text(json.dumps([[f"power {n} on" for n in nodes],
                                              ["service fa:710002 started"]]))
    backend = _play(path, 300)
    fake, vm = (backend.sim.guests[g] for g in ("qemu/710002", "qemu/701"))
    assert fake.node == vm.node != "node2"
    assert backend.sim.instance("qemu/710002") is not None
    follow = next(e.message for e in backend.events()
                  if e.guest == "qemu/701" and e.kind == "ha_move")
    assert follow.startswith(f"701 moves to {fake.node}: rule: kept together with 710002")
    assert "relocate" in [e.kind for e in backend.events() if e.guest == "qemu/710002"]


def test_a_service_the_cmdlist_adds_running_exists_only_from_its_add(tmp_path: Path) -> None:
    """`service SID add NODE started 1` (Sim/Hardware.pm's add_service): the service
    runs from that command on, already running (no start), and loads no node before."""
    case = _case(tmp_path / "add", "static", SIZES, SERVICES,
                 [["service vm:309 add bravo started 1"]], STATIC)
    clock = ManualClock()
    backend = SimBackend(SimCluster(scenario=str(case)), clock=clock)
    wait(clock, backend, 60, step=2.0)  # the command comes 100 s in
    assert backend.sim.instance("qemu/309") is None
    wait(clock, backend, 100, step=2.0)
    guest = backend.inventory().guest("qemu/309")
    assert guest is not None and guest.node == "bravo" and guest.running and guest.ha
    assert not [e for e in backend.events() if e.guest == "qemu/309" and e.kind == "started"]
