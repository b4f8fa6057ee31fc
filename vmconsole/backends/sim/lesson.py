"""Lessons a teacher writes as files, and pve-ha-manager's own test directories, turned
into scenarios the simulator plays (`vmconsole demo --scenario PATH`).

A lesson file is TOML; its format, with a complete example that the tests play, is in
docs/lessons.md. A test directory's `cmdlist` runs at the harness's own times. A lesson
file is checked whole when it is read (`lesson_file.read_lesson`).
"""

from __future__ import annotations

import tomllib
from functools import partial
from pathlib import Path

from vmconsole.backends.base import InvalidInput
from vmconsole.backends.sim import ha_fake, ha_testcrs, ha_teststatus
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.ha_commands import REQUESTS, command_step
from vmconsole.backends.sim.ha_rules import ResourceAffinity
from vmconsole.backends.sim.ha_testdir import (
    HARNESS_CADENCE,
    Group,
    HATestCase,
    Service,
    command_times,
    guest_id,
    read_testdir,
    sid_of,
)
from vmconsole.backends.sim.lab import build_named_cluster
from vmconsole.backends.sim.lesson_file import LessonTables, read_lesson
from vmconsole.backends.sim.scenarios import Scenario, Step
from vmconsole.backends.sim.state import HAGroup, HAResource
from vmconsole.model import GuestKind, HAState
from vmconsole.text import visible
from vmconsole.textfile import UnreadableFile, parse_toml, read_utf8

# --- pve-ha-manager test directories -------------------------------------------------


def _groups_by_service(case_groups: list[Group], services: list[Service]
                       ) -> tuple[dict[str, HAGroup], dict[str, str]]:
    groups = {g.name: HAGroup(g.name, dict(g.priorities), g.restricted, g.nofailback)
              for g in case_groups}
    member = {sid: g.name for g in case_groups for sid in g.resources}
    for service in services:
        if service.group is not None:
            member.setdefault(service.sid, service.group)
    return groups, member


def _check_case(case: HATestCase) -> None:
    """Every service on a node of the cluster; raises InvalidInput."""
    strays = [f"{visible(s.sid)} on {visible(s.node)}" for s in case.services
              if s.node not in case.nodes]
    if strays:
        raise InvalidInput(f"{case.name}: services on nodes that are not in the cluster: "
                           + ", ".join(strays), {"services": "nodes of the cluster only"})


def _build_case(case: HATestCase, powered: dict[str, bool], sim: Sim) -> None:
    """The test's cluster: its nodes, its services as small guests, its groups."""
    guests = []
    for service in case.services:
        gid = guest_id(service.sid)
        kind = GuestKind.VM if gid.startswith("qemu/") else GuestKind.CT
        guests.append((int(gid.split("/")[1]), kind, service.node,
                       service.state == "started" and not ha_testcrs.starts_balanced(case)))
    # `service SID add NODE [state] [running]`: the guest exists, stopped, until the
    # command adds it (running if it says so: Sim/Hardware.pm's add_service)
    for line in case.rounds:
        for words in (command.split() for command in line):
            if len(words) >= 4 and words[0] == "service" and words[2] == "add":
                gid = guest_id(words[1])
                kind = GuestKind.VM if gid.startswith("qemu/") else GuestKind.CT
                guests.append((int(gid.split("/")[1]), kind, words[3], False))
    build_named_cluster(sim, powered, guests)
    for guest in sim.guests.values():  # the harness's resources start and stop at once
        guest.boot_seconds = guest.shutdown_seconds = 0.0
    for name, on in powered.items():
        if not on:  # never seen online: NodeStatus.pm's default, `unknown`, is not logged
            sim.nodes[name].ha_state = None
    ha_testcrs.apply_sizes(case, sim, {sid_of(gid): gid for gid in (
        f"{'qemu' if kind is GuestKind.VM else 'lxc'}/{vmid}" for vmid, kind, _, _ in guests)})
    groups, member = _groups_by_service(case.groups, case.services)
    sim.groups.update(groups)
    for service in case.services:
        if service.sid.startswith("fa:"):
            sim.guests[guest_id(service.sid)].fake = ha_fake.decode(service.sid)
    sim.affinity_rules = [ResourceAffinity(name, tuple(guest_id(r) for r in sids), positive)
                          for name, sids, positive in case.affinity]
    for service in case.services:
        if service.state == "ignored":
            continue
        guest = sim.guests[guest_id(service.sid)]
        running = sim.running_on_own_node(guest) is not None
        state = (HAState.STARTED if running else
                 HAState.DISABLED if service.state == "disabled" else HAState.STOPPED)
        if ha_testcrs.starts_balanced(case):
            state = ha_testcrs.start_up_state(service.state)
        guest.ha = HAResource(REQUESTS[service.state], state, group=member.get(service.sid),
                              max_restart=service.max_restart,
                              max_relocate=service.max_relocate, failback=service.failback)
    if case.status is not None:
        ha_teststatus.apply(case.status, sim, {s.sid: guest_id(s.sid) for s in case.services})


def _fake_problems(case: HATestCase) -> list[str]:
    """Why the case's fake resources cannot be played: one the simulator does not
    model, or one sharing its guest with a vm: service."""
    out = []
    sids = {s.sid for s in case.services}
    for sid in sorted(sids):
        if not sid.startswith("fa:"):
            continue
        try:
            ha_fake.decode(sid)
        except InvalidInput as exc:
            out.append(exc.message)
        if "vm:" + sid.removeprefix("fa:") in sids:
            out.append(f"{visible(sid)} and vm:{visible(sid[3:])} would be one guest")
    return out


def _setup_line(case: HATestCase) -> bool:
    """A first cmdlist line that only powers on nodes that start off: the cluster's
    start-up, which the simulator begins after."""
    first = case.rounds[0] if case.rounds else []
    return bool(first) and all(
        len(w := c.split()) == 3 and w[0] == "power" and w[2] == "on"
        and not case.nodes.get(w[1], (True, True))[0] for c in first)


def testcase_scenario(case: HATestCase) -> tuple[Scenario, float, float]:
    """The scenario for a test directory, the harness time its start stands for, and
    the harness time its run ends. Raises InvalidInput when it cannot be played."""
    _check_case(case)
    problems = list(case.problems)
    times, end = command_times(case.rounds)
    steps: list[tuple[float, str, Step]] = []
    skip_first = _setup_line(case)
    origin = times[0] if skip_first else 0.0
    powered = {name: on for name, (on, _) in case.nodes.items()}
    if skip_first:
        for command in case.rounds[0]:
            powered[command.split()[1]] = True
    for line, at in zip(case.rounds[1:] if skip_first else case.rounds,
                        times[1:] if skip_first else times, strict=True):
        for command in line:
            if command.startswith("delay"):
                continue
            try:
                steps.append((at - origin, command, command_step(command)))
            except InvalidInput as exc:
                problems.append(exc.message)
    problems += _fake_problems(case)
    if problems:
        raise InvalidInput(f"{case.name} cannot be played: " + "; ".join(problems),
                           {"scenario": "; ".join(problems)})
    if case.status is not None:
        steps.insert(0, (0.0, "start-up: the previous master's manager status",
                         ha_teststatus.start_step(case.status, {
                             s.sid: guest_id(s.sid) for s in case.services})))
    if ha_testcrs.starts_balanced(case):
        steps.insert(0, (0.0, "start-up: HA requests", ha_testcrs.start_step(
            [guest_id(s.sid) for s in case.services if s.state != "ignored"])))
    added = [words[1] for line in case.rounds for words in map(str.split, line)
             if len(words) >= 4 and words[0] == "service" and words[2] == "add"]
    scenario = Scenario(case.name, case.readme.splitlines()[0] if case.readme else case.name,
                        len(case.nodes), False, tuple(steps),
                        tuple(dict.fromkeys(guest_id(sid) for sid in
                                            [*(s.sid for s in case.services), *added])),
                        build=partial(_build_case, case, powered), node_boot=0.0,
                        os_shutdown=0.0,
                        reset_reboots=False, shutdown_policy=case.shutdown_policy,
                        crs=ha_testcrs.crs_settings(case),
                        ha_cadence=HARNESS_CADENCE)
    return scenario, origin, end


# --- lesson files --------------------------------------------------------------------


def _lesson(lesson: LessonTables) -> Scenario:
    if not lesson.named:
        return Scenario(lesson.name, lesson.description, len(lesson.nodes), lesson.qdevice,
                        lesson.steps, lesson.watch, quorum_options=lesson.quorum_options)
    case = HATestCase(lesson.name, dict.fromkeys(lesson.nodes, (True, True)),
                      lesson.services, lesson.groups, [], affinity=lesson.affinity)
    return Scenario(lesson.name, lesson.description, len(lesson.nodes), lesson.qdevice,
                    lesson.steps, lesson.watch,
                    build=partial(_build_case, case, dict.fromkeys(case.nodes, True)),
                    quorum_options=lesson.quorum_options)


def is_lesson_path(name: str) -> bool:
    """A scenario name that is a path: a lesson file or a test directory."""
    return "/" in name or name.endswith(".toml") or Path(name).exists()


def load_lesson(path: Path) -> Scenario:
    """A lesson file (TOML) or a pve-ha-manager test directory, as a scenario. Raises
    InvalidInput for a file it cannot read or a command it cannot play."""
    if path.is_dir():
        return testcase_scenario(read_testdir(path))[0]
    try:
        text = read_utf8(path)
        data = parse_toml(text)
    except UnreadableFile as exc:
        raise InvalidInput(f"{path}: {exc.reason}", {"scenario": exc.reason}) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path}: {exc}", {"scenario": str(exc)}) from exc
    return _lesson(read_lesson(data, path, text))

