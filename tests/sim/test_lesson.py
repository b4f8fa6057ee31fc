"""Lessons from files: pve-ha-manager's test directory format (our own cases, written
in upstream's format) held against their log.expect, and a teacher's TOML lesson."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.sim.conftest import refusal_of_demo, wait
from vmconsole.backends.abilities import ClusterEvent
from vmconsole.backends.base import InvalidInput
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.backends.sim.ha_testrun import compare, key_events
from vmconsole.config import SimCluster

CASES = Path(__file__).parent / "ha_cases"


@pytest.mark.parametrize("case", ["lost-network", "restricted-comes-back"])
def test_a_test_directory_plays_as_its_log_expect_says(case: str) -> None:
    result = compare(CASES / case)
    assert result.playable and result.matches, result.describe()


def test_a_log_the_simulator_does_not_produce_is_reported(tmp_path: Path) -> None:
    case = tmp_path / "wrong"
    shutil.copytree(CASES / "lost-network", case)
    log = (case / "log.expect").read_text().replace("to node 'node1'", "to node 'node3'")
    (case / "log.expect").write_text(log.replace("node1/lrm: service status ct:201",
                                                 "node3/lrm: service status ct:201"))
    result = compare(case)
    assert result.playable and not result.matches
    assert "missing recovered ct:201 node3" in result.describe()


def test_a_command_the_simulator_cannot_play_is_named() -> None:
    result = compare(CASES / "not-playable")
    assert not result.playable and "pve-manager-version node2 set 9.0.0" in result.reason


LESSON = """
name = "lost-node"
description = "power off node2 and watch its HA service come back"
nodes = ["node1", "node2", "node3"]
watch = ["vm:101"]
[services]
"vm:101" = { node = "node2", state = "started", group = "prefer-node2" }
[groups.prefer-node2]
nodes = { node2 = 2, node1 = 1 }
[[steps]]
at = 10
do = "power node2 off"
"""


def test_the_documented_lesson_plays_as_its_doc_says(tmp_path: Path,
                                                     clock: ManualClock) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "lessons.md").read_text()
    lesson = tmp_path / "doc.toml"
    lesson.write_text(doc.split("```toml\n", 1)[1].split("```", 1)[0])
    backend = SimBackend(SimCluster(scenario=str(lesson)), clock=clock)
    wait(clock, backend, 200)
    where = {g.id: (g.node, g.running) for g in backend.inventory().guests}
    assert where == {"qemu/101": ("node1", True), "qemu/102": ("node3", True),
                     "lxc/201": ("node1", False)}
    wait(clock, backend, 300)  # node2 on at 240 s, back by 300 s: vm:101 fails back
    guest = backend.inventory().guest("qemu/101")
    assert guest is not None and (guest.node, guest.running) == ("node2", True)


def test_a_teachers_lesson_file_plays_on_the_demo(tmp_path: Path,
                                                  clock: ManualClock) -> None:
    lesson = tmp_path / "lost-node.toml"
    lesson.write_text(LESSON)
    backend = SimBackend(SimCluster(scenario=str(lesson)), clock=clock)
    assert sorted(backend.sim.nodes) == ["node1", "node2", "node3"]
    wait(clock, backend, 240)
    guest = backend.inventory().guest("qemu/101")
    assert guest is not None and guest.node == "node1" and guest.running  # group's next
    summary = backend.scenario_summary()
    assert summary[0].startswith("scenario lost-node")
    assert any("101 (vm101): unreachable" in line for line in summary)


def test_a_lesson_with_a_command_it_cannot_play_is_refused(tmp_path: Path) -> None:
    lesson = tmp_path / "bad.toml"
    lesson.write_text(LESSON.replace("power node2 off", "fence node2 now"))
    with pytest.raises(InvalidInput, match=r"key 'steps\[0\]\.do': the simulator cannot play "
                       "'fence node2 now'"):
        SimBackend(SimCluster(scenario=str(lesson)), clock=ManualClock())


def test_a_lesson_with_hidden_characters_or_stray_nodes_is_refused(tmp_path: Path) -> None:
    lesson = tmp_path / "evil.toml"
    lesson.write_text(LESSON.replace('"node1", "node2"', '"node1", "no\\u001bde2"'))
    with pytest.raises(InvalidInput, match=r"'no\\x1bde2' is not a node name"):
        SimBackend(SimCluster(scenario=str(lesson)), clock=ManualClock())
    lesson.write_text(LESSON.replace('node = "node2"', 'node = "node9"'))
    with pytest.raises(InvalidInput, match=r"line 7, key 'services.\"vm:101\"': node 'node9' "
                       r"is not one of the lesson's nodes \(node1, node2, node3\)"):
        SimBackend(SimCluster(scenario=str(lesson)), clock=ManualClock())


def lesson_refusal(tmp_path: Path, text: str) -> str:
    """The one line `vmconsole demo --scenario` refuses a lesson of `text` with, after
    the lesson file's path."""
    lesson = tmp_path / "lesson.toml"
    lesson.write_text(text)
    with pytest.raises(InvalidInput) as err:
        SimBackend(SimCluster(scenario=str(lesson)), clock=ManualClock())
    assert err.value.message.startswith(f"{lesson}: bad lesson: ")
    return err.value.message.removeprefix(f"{lesson}: bad lesson: ")


@pytest.mark.parametrize(("change", "said"), [
    # one node built, "2 nodes" in the summary, quorate 1/1
    (('"node1", "node2", "node3"', '"node1", "node2", "node3", "node3"'),
     "line 4, key 'nodes': node3 named more than once: each node is one machine, with one "
     "name"),
    # refused when its step came up, with no file or step
    (("power node2 off", "explode node2"),
     "line 12, key 'steps[0].do': the simulator cannot play 'explode node2' yet"),
    # a crash when its step came up
    (("power node2 off", "power node9 off"),
     "line 12, key 'steps[0].do': node 'node9' is not one of the lesson's nodes (node1, "
     "node2, node3)"),
    (("power node2 off", "service vm:102 stopped"),
     "line 12, key 'steps[0].do': service 'vm:102' is not in [services]"),
    (("at = 10", "at = 10\nwhen = 5"), "line 12, key 'steps[0].when': unknown key "
     "(allowed: at, do)"),
    (('nodes = { node2 = 2, node1 = 1 }', 'nodes = { node2 = 2, node7 = 1 }'),
     "line 9, key 'groups.prefer-node2.nodes': node 'node7' is not one of the lesson's "
     "nodes (node1, node2, node3)"),
    (('group = "prefer-node2"', 'group = "prefer-nodes2"'),
     "line 7, key 'services.\"vm:101\"': group 'prefer-nodes2' is not defined in [groups]"),
    (('state = "started"', 'state = "running"'),
     "line 7, key 'services.\"vm:101\"': state 'running' is not one of started, stopped, "
     "disabled, ignored"),
    (('watch = ["vm:101"]', 'watch = ["vm:101"]\nstep = []'),
     "line 6, key 'step': unknown key (allowed: description, groups, name, nodes, qdevice, "
     "rules, services, steps, votequorum, watch)"),
])
def test_a_lesson_is_checked_whole_when_read_each_problem_at_its_line_and_key(
        tmp_path: Path, change: tuple[str, str], said: str) -> None:
    text = LESSON.replace(*change)
    assert text != LESSON
    assert lesson_refusal(tmp_path, text) == said


def test_every_problem_of_a_lesson_is_named_at_once_in_the_files_order(
        tmp_path: Path) -> None:
    text = LESSON.replace("power node2 off", "explode node2").replace(
        '"node1", "node2", "node3"', '"node1", "node1", "node3"')
    assert lesson_refusal(tmp_path, text) == (
        "line 4, key 'nodes': node1 named more than once: each node is one machine, with "
        "one name; line 7, key 'services.\"vm:101\"': node 'node2' is not one of the "
        "lesson's nodes (node1, node3); line 9, key 'groups.prefer-node2.nodes': node "
        "'node2' is not one of the lesson's nodes (node1, node3); line 12, key "
        "'steps[0].do': the simulator cannot play 'explode node2' yet")


@pytest.mark.parametrize(("content", "said"), [
    (b'name = "caf\xe9"\nnodes = 3\n', "not UTF-8 text (byte 0xe9 on line 1)"),
    # tomllib's RecursionError was a traceback, exit 1
    pytest.param(b'name = "deep"\nnodes = ' + b"[" * 2000 + b"]" * 2000 + b"\n",
                 "arrays or inline tables nested too deeply", id="nested-2000-deep"),
    (b'description = "a lesson without its name"\nnodes = 3\n',
     "bad lesson: key 'name': the lesson's name (a string) is missing from the file's "
     "top, before its first [table]"),
    # a missing key has no line of its own: it was given a table's `name =` line
    (b'description = "no name"\nnodes = 3\n\n[[watchers]]\nname = "a"\n',
     "bad lesson: key 'name': the lesson's name (a string) is missing from the file's "
     "top, before its first [table]; line 4, key 'watchers': unknown key (allowed: "
     "description, groups, name, nodes, qdevice, rules, services, steps, votequorum, "
     "watch)"),
    # a count the demo's own --nodes refuses built a 100,000-node cluster for a minute
    (b'name = "big"\nnodes = 100000\n',
     "bad lesson: line 2, key 'nodes': between 1 and 1000 nodes, not 100000"),
    (b'name = "none"\nnodes = []\n',
     "bad lesson: line 2, key 'nodes': between 1 and 1000 nodes, not 0"),
    (b'name = "words"\nnodes = "three"\n',
     "bad lesson: line 2, key 'nodes': expected a count or a list of node names, got "
     "'three'"),
])
def test_a_lesson_file_the_demo_cannot_use_is_one_line_and_exit_2(
        tmp_path: Path, content: bytes, said: str) -> None:
    lesson = tmp_path / "lesson.toml"
    lesson.write_bytes(content)
    assert refusal_of_demo("--scenario", str(lesson)) == [
        f"vmconsole: cluster 'lab': {lesson}: {said}"]


def test_a_test_directory_with_a_file_that_is_not_utf8_is_one_line_and_exit_2(
        tmp_path: Path) -> None:
    case = tmp_path / "latin1"
    shutil.copytree(CASES / "lost-network", case)
    (case / "README").write_bytes("Noeud 1 tombé\n".encode("latin-1"))
    assert refusal_of_demo("--scenario", str(case)) == [
        f"vmconsole: cluster 'lab': {case}/README: not UTF-8 text (byte 0xe9 on line 1)"]


@pytest.mark.parametrize(("entry", "said"), [
    ('"vm:101": {"node": "node1", "state": "[bold]weird\\u001b[2J"}',
     "vm:101: state '[bold]weird\\x1b[2J' is not one of started, enabled, stopped, "
     "disabled, ignored"),
    ('"vm:99999999999999999999999": {"node": "node1", "state": "started"}',
     "'vm:99999999999999999999999' is not an HA resource id (vm:N or ct:N, N up to "
     "999999999)"),
    ('"vm:101": {"node": "node9", "state": "started"}',
     "vm:101: node 'node9' is not in hardware_status"),
    ('"vm:101": ["node1"]', "vm:101: expected an object"),
    ('"vm:101": {"node": "node1", "state": ["started"]}',  # as written, not a repr
     'vm:101: state ["started"] is not one of started, enabled, stopped, disabled, '
     "ignored"),
    ('"vm:101": {"node": "node1", "state": "started", "group": "nowhere"}',
     "vm:101: group 'nowhere' is not defined in groups"),
    ('"vm:101": {"node": "node1",', "Expecting property name enclosed in double quotes: "
                                    "line 1 column 29 (char 28)"),
])
def test_a_test_directory_with_a_bad_service_is_one_line_and_exit_2(
        tmp_path: Path, entry: str, said: str) -> None:
    case = tmp_path / "bad-service"
    shutil.copytree(CASES / "lost-network", case)
    (case / "service_config").write_text("{" + entry + "}\n")
    assert refusal_of_demo("--scenario", str(case)) == [
        f"vmconsole: cluster 'lab': {case}/service_config: {said}"]


def test_a_test_directory_with_json_nested_too_deeply_is_one_line_and_exit_2(
        tmp_path: Path) -> None:
    """100,000 `[` in a file: json's recursive decoder gave up with a RecursionError
    traceback instead of the refusal any other bad JSON gets."""
    case = tmp_path / "deep"
    shutil.copytree(CASES / "lost-network", case)
    (case / "service_config").write_text("[" * 100_000)
    assert refusal_of_demo("--scenario", str(case)) == [
        f"vmconsole: cluster 'lab': {case}/service_config: arrays or objects nested too "
        "deeply"]


def _event(seq: int, time: float, kind: str, node: str) -> ClusterEvent:
    return ClusterEvent(seq, time, kind, kind, node, "qemu/101")


def test_an_offline_move_of_a_stopped_service_is_not_reported_started() -> None:
    events = [_event(1, 130.0, "migration_started", "node3"),
              _event(2, 131.0, "migration_done", "node2")]
    assert [k for k in key_events(events, 0.0, 0.0, lambda g, n, t: False)
            if k.kind == "started"] == []


@pytest.mark.parametrize(("then", "reported"), [
    ([], True),  # it stays: the target's LRM reports it started
    ([_event(3, 146.0, "ha_move", "node2")], False),  # moved on by the CRM's next round
    ([_event(3, 170.0, "ha_move", "node2")], True),  # moved on later: reported first
    ([_event(3, 148.0, "started", "node2")], False),  # an offline move: its own start
])
def test_a_migrated_service_is_reported_started_as_the_lrm_would(
        then: list[ClusterEvent], reported: bool) -> None:
    events = [_event(1, 130.0, "migration_started", "node3"),
              _event(2, 140.0, "migration_done", "node2"), *then]
    started = [(k.subject, k.value) for k in key_events(events, 0.0, 0.0, lambda g, n, t: True)
               if k.kind == "started" and k.time == 140.0]
    assert started == ([("vm:101", "node2")] if reported else [])


MANUAL = """
name = "manual"
nodes = ["n1", "n2", "n3"]
[services]
"vm:101" = { node = "n2", state = "started" }
"vm:102" = { node = "n3", state = "started" }
[[steps]]
at = 30
do = "service vm:101 ignored"
[[steps]]
at = 40
do = "service vm:101 manual-migrate n1"
[[steps]]
at = 40
do = "service vm:102 manual-migrate n1"
"""


def test_a_manual_migration_moves_only_a_service_ha_leaves_alone(
        tmp_path: Path, clock: ManualClock) -> None:
    """The harness's manual-migrate: an admin's own `qm migrate`, allowed while the
    service is ignored (or HA disarmed in ignore mode), refused while HA manages it."""
    lesson = tmp_path / "manual.toml"
    lesson.write_text(MANUAL)
    backend = SimBackend(SimCluster(scenario=str(lesson)), clock=clock)
    wait(clock, backend, 120)
    ignored, managed = (backend.inventory().guest(g) for g in ("qemu/101", "qemu/102"))
    assert ignored is not None and ignored.node == "n1" and ignored.running
    assert managed is not None and managed.node == "n3" and managed.running
    refused = next(e for e in backend.events() if e.kind == "ha_move_refused")
    assert refused.guest == "qemu/102" and "ignored or HA disarmed" in refused.message


@pytest.mark.parametrize("at", ["nan", "-5", "inf"])
def test_a_step_at_no_time_is_refused_with_its_value(tmp_path: Path, at: str) -> None:
    lesson = tmp_path / "bad-time.toml"
    text = LESSON.replace("at = 10", f"at = {at}", 1)
    assert text != LESSON
    lesson.write_text(text)
    with pytest.raises(InvalidInput, match=f"'at' must be seconds from the start.*not {at}"):
        SimBackend(SimCluster(scenario=str(lesson)), clock=ManualClock())
