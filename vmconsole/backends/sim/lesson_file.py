"""A teacher's lesson file (its format: `lesson.py`) checked whole when it is read: every
problem named with its key and line, all at once, rather than the first one found, or
one that only shows when its step is played.

tomllib keeps no positions: the line of a key comes from `TableReader.line_of`, which
follows the file's [table] and [[steps]] headers (a service's inline table is found at
the line of its id)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmconsole.backends.base import InvalidInput
from vmconsole.backends.sim.ha_commands import REQUESTS, command_step, node_name
from vmconsole.backends.sim.ha_testdir import Group, Service, guest_id
from vmconsole.backends.sim.scenarios import Step
from vmconsole.config.reader import TableReader
from vmconsole.config.sim_limits import MAX_NODES
from vmconsole.text import visible

QUORUM_OPTIONS = ("two_node", "wait_for_all", "last_man_standing", "auto_tie_breaker")
CONFIG_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")  # Proxmox's pve-configid

_LESSON_KEYS = frozenset({"name", "description", "nodes", "qdevice", "watch", "votequorum",
                          "services", "rules", "groups", "steps"})
_SERVICE_KEYS = frozenset({"node", "state", "group", "max_restart", "max_relocate"})
_GROUP_KEYS = frozenset({"nodes", "restricted", "nofailback"})
_RULE_KEYS = frozenset({"resources", "affinity"})
_STEP_KEYS = frozenset({"at", "do"})
# The commands whose second word is a node the simulator looks up when the step plays
# (ha_commands.command_step), and the service actions whose fourth word is one.
_NODE_COMMANDS = frozenset({"power", "network", "reboot", "shutdown", "cfs", "restart-lrm"})
_CRM_NODE_ACTIONS = frozenset({"enable-node-maintenance", "disable-node-maintenance",
                               "stop", "start"})
_SERVICE_NODE_ACTIONS = frozenset({"migrate", "relocate", "manual-migrate", "add"})


@dataclass(frozen=True, slots=True)
class LessonTables:
    """A lesson file's values, each checked: `nodes` the node names (pve1..pveN for a
    count, `named` False: the classic lab's cluster), steps as (seconds after the
    start, the command as shown, its action)."""

    name: str
    description: str
    nodes: tuple[str, ...]
    named: bool
    qdevice: bool
    watch: tuple[str, ...]  # guest ids
    quorum_options: tuple[str, ...]
    services: list[Service]
    groups: list[Group]
    affinity: list[tuple[str, tuple[str, ...], bool]]  # (name, sids, positive)
    steps: tuple[tuple[float, str, Step], ...]


def step_time(value: object) -> float:
    """A step's `at`: seconds after the lesson starts, a finite number not below 0
    (`nan` or -5 ran every such step at once). Raises ValueError with the value."""
    at = float(value)  # type: ignore[arg-type]  # TOML gives int, float or a wrong type
    if not math.isfinite(at) or at < 0:
        raise ValueError(f"a step's 'at' must be seconds from the start (0 or more), "
                         f"not {visible(str(value), 40)}")
    return at


def _shown(value: object) -> str:
    """A value from the file as an error shows it: a string quoted, controls escaped."""
    return f"'{visible(value, 40)}'" if isinstance(value, str) else visible(str(value), 40)


def _listed(names: list[str] | tuple[str, ...]) -> str:
    shown = ", ".join(visible(n, 40) for n in names[:6])
    return shown + (", …" if len(names) > 6 else "")


class _Reader:
    """The problems found so far, each as (its line, "line L, key 'K': why")."""

    def __init__(self, path: Path, text: str) -> None:
        self.lines = TableReader(path, text)
        self.found: list[tuple[int, str]] = []

    def problem(self, key: str, reason: str, missing: bool = False) -> None:
        """`reason` at `key`'s line, or for a `missing` key (which has no line of its
        own) at its table's header; a missing key of the file's top has no line."""
        line = self.lines.table_line(key) if missing else self.lines.line_of(key)
        where = f"line {line}, " if line is not None else ""
        self.found.append((line or 0, f"{where}key '{visible(key, 80)}': {reason}"))

    def problems(self) -> list[str]:
        """The problems in the file's order (those of no line first)."""
        return [text for _, text in sorted(self.found, key=lambda found: found[0])]

    def unknown(self, table: dict[str, Any], allowed: frozenset[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                self.problem(f"{prefix}.{_quoted(key)}" if prefix else _quoted(key),
                             f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def table(self, data: dict[str, Any], key: str, prefix: str = "") -> dict[str, Any]:
        value = data.get(key, {})
        if isinstance(value, dict):
            return value
        self.problem(f"{prefix}.{key}" if prefix else key,
                     f"expected a table, got {_shown(value)}")
        return {}

    def typed(self, data: dict[str, Any], key: str, prefix: str, kind: type,
              default: Any) -> Any:
        value = data.get(key, default)
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        self.problem(f"{prefix}.{key}" if prefix else key,
                     f"expected {kind.__name__}, got {_shown(value)}")
        return default


def _not_a_node(node: object, nodes: tuple[str, ...]) -> str:
    return f"node {_shown(node)} is not one of the lesson's nodes ({_listed(nodes)})"


def _quoted(key: str) -> str:
    """A table's key as a key path names it: "vm:101" quoted, `prefer-node2` bare."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'


def _nodes(r: _Reader, data: dict[str, Any]) -> tuple[tuple[str, ...], bool]:
    nodes = data.get("nodes", 3)
    if isinstance(nodes, int) and not isinstance(nodes, bool):
        if not 1 <= nodes <= MAX_NODES:
            r.problem("nodes", f"between 1 and {MAX_NODES} nodes, not {nodes}")
            return (), False
        return tuple(f"pve{i}" for i in range(1, nodes + 1)), False
    if not isinstance(nodes, list):
        r.problem("nodes", f"expected a count or a list of node names, got {_shown(nodes)}")
        return (), False
    names: list[str] = []
    for node in nodes:
        try:
            names.append(node_name(node if isinstance(node, str) else str(node)))
        except InvalidInput as exc:
            r.problem("nodes", exc.message)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:  # one node would be built, the quorum counted over the others too
        r.problem("nodes", f"{_listed(twice)} named more than once: each node is one "
                  "machine, with one name")
    if not 1 <= len(nodes) <= MAX_NODES:
        r.problem("nodes", f"between 1 and {MAX_NODES} nodes, not {len(nodes)}")
    return tuple(dict.fromkeys(names)), True


def _services(r: _Reader, data: dict[str, Any], nodes: tuple[str, ...],
              groups: set[str]) -> list[Service]:
    out = []
    for sid, entry in r.table(data, "services").items():
        key = f"services.{_quoted(sid)}"
        try:
            guest_id(sid)
        except InvalidInput as exc:
            r.problem(key, exc.message)
            continue
        if not isinstance(entry, dict):
            r.problem(key, "expected { node = \"NODE\", state = \"started\" }")
            continue
        r.unknown(entry, _SERVICE_KEYS, key)
        node, state = entry.get("node"), entry.get("state", "started")
        group = entry.get("group")
        if node not in nodes:
            r.problem(key, _not_a_node(node, nodes))
        if state not in REQUESTS:
            r.problem(key, f"state {_shown(state)} is not one of {', '.join(REQUESTS)}")
        if group is not None and group not in groups:
            r.problem(key, f"group {_shown(group)} is not defined in [groups]")
        limits = [r.typed(entry, k, key, int, 1) for k in ("max_restart", "max_relocate")]
        out.append(Service(sid, str(node), str(state), None if group is None else str(group),
                           *limits))
    return out


def _named_tables(r: _Reader, data: dict[str, Any], table: str, allowed: frozenset[str],
                  shape: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """The (name, key, table) of each [groups.NAME] or [rules.NAME] whose name is a
    Proxmox config id and whose value is a table (`shape` says what one holds)."""
    for name, value in r.table(data, table).items():
        key = f"{table}.{_quoted(name)}"
        if not CONFIG_ID.match(name):
            r.problem(key, f"'{visible(name, 40)}' is not a {table[:-1]} name (a letter, "
                      "then letters, digits, - or _)")
        if not isinstance(value, dict):
            r.problem(key, f"expected a table with {shape}")
            continue
        r.unknown(value, allowed, key)
        yield name, key, value


def _groups(r: _Reader, data: dict[str, Any], nodes: tuple[str, ...]) -> list[Group]:
    out = []
    for name, key, group in _named_tables(r, data, "groups", _GROUP_KEYS,
                                          "nodes = { NODE = PRIORITY }"):
        priorities = r.table(group, "nodes", key)
        for node in priorities:
            if node not in nodes:
                r.problem(f"{key}.nodes", _not_a_node(node, nodes))
        if not all(isinstance(p, int) and not isinstance(p, bool)
                   for p in priorities.values()):
            r.problem(f"{key}.nodes", "expected node = priority (an integer) pairs")
            continue
        out.append(Group(name, dict(priorities), r.typed(group, "restricted", key, bool, False),
                         r.typed(group, "nofailback", key, bool, False)))
    return out


def _affinity(r: _Reader, data: dict[str, Any], sids: set[str]
              ) -> list[tuple[str, tuple[str, ...], bool]]:
    out = []
    for name, key, rule in _named_tables(r, data, "rules", _RULE_KEYS,
                                         "resources and affinity"):
        resources = rule.get("resources")
        if not isinstance(resources, list) or not resources or not all(
                s in sids for s in resources):
            r.problem(f"{key}.resources", "expected a list of the lesson's services, got "
                      f"{_shown(resources)}")
            continue
        affinity = rule.get("affinity", "positive")
        if affinity not in ("positive", "negative"):
            r.problem(f"{key}.affinity", "expected \"positive\" (together) or "
                      f"\"negative\" (apart), got {_shown(affinity)}")
        out.append((name, tuple(resources), affinity == "positive"))
    return out


def _played_names(command: str) -> tuple[list[str], list[str]]:
    """The nodes and the services a command looks up when its step is played."""
    words = command.split()
    nodes = [words[1]] if len(words) >= 2 and (words[0] in _NODE_COMMANDS or (
        words[0] == "crm" and len(words) == 3 and words[2] in _CRM_NODE_ACTIONS)) else []
    sids = []
    if len(words) >= 3 and words[0] == "service":
        sids.append(words[1])
        if len(words) >= 4 and words[2] in _SERVICE_NODE_ACTIONS:
            nodes.append(words[3])
    return nodes, sids


def _steps(r: _Reader, data: dict[str, Any], nodes: tuple[str, ...],
           sids: set[str] | None) -> tuple[tuple[float, str, Step], ...]:
    """The steps, each command checked against the lesson's nodes and (`sids`, None for
    the classic lab's guests) its services: at play time a missing one was a crash."""
    steps = data.get("steps", [])
    if not isinstance(steps, list):
        r.problem("steps", "expected [[steps]] tables")
        return ()
    out = []
    for index, step in enumerate(steps):
        key = f"steps[{index}]"
        if not isinstance(step, dict):
            r.problem(key, "expected a [[steps]] table with at and do")
            continue
        r.unknown(step, _STEP_KEYS, key)
        at = do = None
        if "at" not in step:
            r.problem(f"{key}.at", "missing: the step's seconds after the start",
                      missing=True)
        else:
            try:
                at = step_time(step["at"])
            except (TypeError, ValueError) as exc:
                r.problem(f"{key}.at", visible(str(exc)))
        command = step.get("do")
        if not isinstance(command, str):
            r.problem(f"{key}.do", f"expected a command such as \"power node2 off\", got "
                      f"{_shown(command)}")
            continue
        try:
            do = command_step(command)
        except InvalidInput as exc:
            r.problem(f"{key}.do", exc.message)
        played_nodes, played_sids = _played_names(command)
        for node in played_nodes:
            if node not in nodes:
                r.problem(f"{key}.do", _not_a_node(node, nodes))
        for sid in played_sids:
            if sids is not None and sid not in sids:
                r.problem(f"{key}.do", f"service {_shown(sid)} is not in [services]")
        if at is not None and do is not None:
            out.append((at, visible(command), do))
    return tuple(out)


def read_lesson(data: dict[str, Any], path: Path, text: str) -> LessonTables:
    """A lesson file's tables (`data`, read from `text` at `path`) checked whole. Raises
    InvalidInput naming the file and, for each problem, its line and key."""
    r = _Reader(path, text)
    r.unknown(data, _LESSON_KEYS, "")
    name = data.get("name")
    if name is None:
        r.problem("name", "the lesson's name (a string) is missing from the file's top, "
                  "before its first [table]", missing=True)
    elif not isinstance(name, str) or not name:
        r.problem("name", f"the lesson's name must be a non-empty string, not {_shown(name)}")
    nodes, named = _nodes(r, data)
    groups = _groups(r, data, nodes)
    services = _services(r, data, nodes, set(r.table(data, "groups")))
    sids = {s.sid for s in services}
    affinity = _affinity(r, data, sids)
    if not named and (services or groups or affinity):
        r.problem("nodes", "services, groups and rules need named nodes "
                  "(nodes = [\"node1\", ...])")
    watch = r.typed(data, "watch", "", list, [])
    watched = []
    for sid in watch:
        try:
            watched.append(guest_id(sid if isinstance(sid, str) else str(sid)))
        except InvalidInput as exc:
            r.problem("watch", exc.message)
    options = r.table(data, "votequorum")
    unknown = sorted(set(options) - set(QUORUM_OPTIONS))
    if unknown:
        r.problem("votequorum", f"unknown options {_listed(unknown)} (known: "
                  f"{', '.join(QUORUM_OPTIONS)})")
    if not all(isinstance(v, bool) for v in options.values()):
        r.problem("votequorum", "expected option = true or false")
    description = r.typed(data, "description", "", str, "")
    qdevice = r.typed(data, "qdevice", "", bool, False)
    steps = _steps(r, data, nodes, sids if named else None)
    if problems := r.problems():
        raise InvalidInput(f"{path}: bad lesson: " + "; ".join(problems),
                           {"scenario": "; ".join(problems)})
    return LessonTables(visible(str(name)), visible(description, None), nodes, named,
                        qdevice, tuple(watched),
                        tuple(k for k, v in options.items() if v is True),
                        services, groups, affinity, steps)
