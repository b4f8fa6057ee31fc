"""pve-ha-manager's regression test directories (`src/test/test-*`), read as data.

A directory holds `cmdlist` (JSON: a list of rounds, each a list of commands),
`hardware_status` (JSON: node -> power, network, and for the CRS maxcpu, maxmem in
bytes), `service_config` (JSON: sid -> node, state, group, max_restart, max_relocate),
optionally `groups` and `rules_config` (the section-config text of /etc/pve/ha),
`datacenter.cfg` (JSON: `ha: shutdown_policy` and the `crs` options),
`static_service_stats` (sid -> maxcpu, maxmem in bytes), `dynamic_service_stats` (sid
-> cpu, mem in bytes), `manager_status` and `log.expect`, the log the real manager
writes for that scenario (formats: src/PVE/HA/Sim/Hardware.pm). Only the format is
known here; `lesson.py` plays it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from vmconsole.backends.base import InvalidInput
from vmconsole.backends.sim import ha_teststatus
from vmconsole.backends.sim.clones import MAX_VMID
from vmconsole.backends.sim.ha_testlog import KeyEvent, parse_log
from vmconsole.backends.sim.ha_teststatus import ManagerStatus, as_written
from vmconsole.backends.sim.timing import Cadence
from vmconsole.jsontext import parse_json
from vmconsole.text import visible
from vmconsole.textfile import UnreadableFile, read_utf8

# The test harness (src/PVE/HA/Sim/TestHardware.pm): a loop of at least 20 s runs every
# node's CRM and LRM once; a new line of the cmdlist is taken every fifth loop.
HARNESS_LOOP = 20.0
# Within a loop, node by node in name order, its CRM then its LRM, each advancing the
# harness's clock (about 1 s per service round); the loop's cmdlist line comes first.
HARNESS_CADENCE = Cadence(HARNESS_LOOP, node_step=2.0, crm_at=0.1, lrm_at=1.0)
COMMAND_EVERY = 5
END_AFTER = 500.0  # the run ends this long after the last command

NODE_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")  # a hostname

# Sim/Hardware.pm's defaults where the files give no figure: a node, a service's
# configured size (static) and its use (dynamic); CPUs and bytes.
NODE_SIZE = (24.0, 131072 * 2**20)
STATIC_STATS = (4.0, 4096 * 2**20)
DYNAMIC_STATS = (2.0, 2048 * 2**20)
# datacenter.cfg's crs options (PVE 9.2; Manager.pm's update_crs_scheduler_mode)
_CRS_KEYS = {"ha", "ha-rebalance-on-start", "ha-auto-rebalance", "ha-auto-rebalance-threshold",
             "ha-auto-rebalance-method", "ha-auto-rebalance-hold-duration",
             "ha-auto-rebalance-margin"}


@dataclass(frozen=True, slots=True)
class CRSOptions:
    """datacenter.cfg's `crs`, with Manager.pm's defaults: the scheduler, whether a
    start re-balances, and the auto-rebalance's threshold (imbalance), hold (CRM
    rounds), margin (relative change, 0..1) and method (bruteforce or topsis)."""

    mode: str = "basic"
    rebalance_on_start: bool = False
    auto_rebalance: bool = False
    threshold: float = 0.3
    hold: int = 3
    margin: float = 0.1
    method: str = "bruteforce"


@dataclass(frozen=True, slots=True)
class Service:
    sid: str  # vm:101, ct:200
    node: str
    state: str  # started, stopped, disabled, ignored (Sim/Hardware.pm: default disabled)
    group: str | None = None
    max_restart: int = 1
    max_relocate: int = 1
    failback: bool = True


@dataclass(frozen=True, slots=True)
class Group:
    """An HA group, or a node-affinity rule read as one (nodes with priorities)."""

    name: str
    priorities: dict[str, int]
    restricted: bool = False
    nofailback: bool = False
    resources: tuple[str, ...] = ()  # a rule names its resources; a group is named by them



@dataclass(slots=True)
class HATestCase:
    name: str
    nodes: dict[str, tuple[bool, bool]]  # node -> (powered, network up) at the start
    services: list[Service]
    groups: list[Group]
    rounds: list[list[str]]  # the cmdlist
    problems: list[str] = field(default_factory=list)  # why the simulator cannot play it
    expected: list[KeyEvent] | None = None  # from log.expect
    readme: str = ""
    shutdown_policy: str = "conditional"  # datacenter.cfg's ha: shutdown_policy
    # resource-affinity rules: (name, sids, positive)
    affinity: list[tuple[str, tuple[str, ...], bool]] = field(default_factory=list)
    crs: CRSOptions = CRSOptions()
    sizes: dict[str, tuple[float, int]] = field(default_factory=dict)  # node: CPUs, bytes
    static_stats: dict[str, tuple[float, int]] = field(default_factory=dict)  # sid: same
    dynamic_stats: dict[str, tuple[float, int]] = field(default_factory=dict)  # sid: same
    status: ManagerStatus | None = None  # the manager_status it starts from


def _text(path: Path) -> str:
    """A file of the test directory as UTF-8 text; InvalidInput naming it otherwise."""
    try:
        return read_utf8(path)
    except UnreadableFile as exc:
        raise InvalidInput(f"{path}: {exc.reason}", {path.name: exc.reason}) from exc


def _json(path: Path) -> object:
    try:
        return parse_json(_text(path))
    except ValueError as exc:
        raise InvalidInput(f"{path}: {exc}", {path.name: str(exc)}) from exc


def _stats(path: Path, cpu_key: str, mem_key: str) -> dict[str, tuple[float, int]]:
    """A *_service_stats file: sid -> (CPUs, bytes). Raises InvalidInput naming the
    file when it is not an object of such figures."""
    data = _json(path)
    try:
        if not isinstance(data, dict):
            raise TypeError("not an object")
        return {str(sid): (float(d.get(cpu_key, 0)), int(d.get(mem_key, 0)))
                for sid, d in data.items()}
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(f"{path}: expected sid -> {{{cpu_key}, {mem_key}}}: {exc}",
                           {path.name: f"sid -> {cpu_key}, {mem_key}"}) from exc


def _crs(options: object, problems: list[str]) -> CRSOptions:
    """datacenter.cfg's `crs` object as CRSOptions; unknown keys or a bad value are
    noted in `problems`."""
    if not isinstance(options, dict) or set(options) - _CRS_KEYS:
        problems.append("datacenter.cfg crs options other than " + ", ".join(sorted(_CRS_KEYS)))
        return CRSOptions()
    mode = str(options.get("ha", "basic"))
    if mode not in ("basic", "static", "dynamic"):
        problems.append(f"datacenter.cfg crs ha={visible(mode)}")
        return CRSOptions()
    method = str(options.get("ha-auto-rebalance-method", "bruteforce"))
    if method not in ("bruteforce", "topsis"):
        problems.append(f"datacenter.cfg crs ha-auto-rebalance-method={visible(method)}")
        return CRSOptions()
    try:
        return CRSOptions(mode, bool(options.get("ha-rebalance-on-start")),
                          bool(options.get("ha-auto-rebalance")),
                          float(options.get("ha-auto-rebalance-threshold", 0.3)),
                          int(options.get("ha-auto-rebalance-hold-duration", 3)),
                          float(options.get("ha-auto-rebalance-margin", 0.1)), method)
    except (TypeError, ValueError):
        problems.append("datacenter.cfg crs: a figure that is not a number")
        return CRSOptions()


def _sections(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """/etc/pve/ha's section config: `type: id` then tab-indented `key value` lines."""
    out: list[tuple[str, str, dict[str, str]]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            kind, _, ident = line.partition(":")
            out.append((kind.strip(), ident.strip(), {}))
        elif out:
            key, _, value = line.strip().partition(" ")
            out[-1][2][key] = value.strip()
    return out


def _priorities(spec: str) -> dict[str, int]:
    out = {}
    for item in spec.split(","):
        node, _, priority = item.strip().partition(":")
        out[node] = int(priority) if priority else 0
    return out


def parse_rules(text: str, problems: list[str],
                affinity: list[tuple[str, tuple[str, ...], bool]]) -> list[Group]:
    """Node-affinity rules become groups; resource-affinity rules go to `affinity` as
    (name, sids, positive); other rule types are noted as problems."""
    groups = []
    for kind, ident, keys in _sections(text):
        if keys.get("disable") == "1":
            continue
        resources = tuple(r.strip() for r in keys.get("resources", "").split(","))
        if kind == "resource-affinity":
            affinity.append((ident, resources, keys.get("affinity") == "positive"))
            continue
        if kind != "node-affinity":
            problems.append(f"rule type '{kind}' ({ident})")
            continue
        groups.append(Group(f"rule:{ident}", _priorities(keys.get("nodes", "")),
                            restricted=keys.get("strict") == "1",
                            resources=tuple(r.strip() for r in
                                            keys.get("resources", "").split(","))))
    return groups


def parse_groups(text: str) -> list[Group]:
    return [Group(ident, _priorities(keys.get("nodes", "")),
                  restricted=keys.get("restricted") == "1",
                  nofailback=keys.get("nofailback") == "1")
            for kind, ident, keys in _sections(text) if kind == "group"]


def command_times(rounds: list[list[str]]) -> tuple[list[float], float]:
    """When the harness runs each line of the cmdlist, and when the run ends: the loop
    arithmetic of TestHardware.pm's run() (a `delay N` holds the next line back)."""
    times: list[float] = []
    now, loop_count, next_cmd_at, last_command = 0.0, 0, 0.0, 0.0
    pending = list(rounds)
    while True:
        now += HARNESS_LOOP
        if now < next_cmd_at:
            continue
        if loop_count % COMMAND_EVERY == 0:
            if not pending:
                if now - last_command > END_AFTER:
                    return times, now
            else:
                line = pending.pop(0)
                times.append(now)
                last_command = now
                for cmd in line:
                    if m := re.match(r"^delay\s+(\d+)\s*$", cmd):
                        next_cmd_at = now + int(m.group(1))
        loop_count += 1


def guest_id(sid: str) -> str:
    """vm:101 -> qemu/101, ct:200 -> lxc/200, a test directory's fake resource fa:130 ->
    qemu/130 (raises InvalidInput for anything else)."""
    kind, _, vmid = sid.partition(":")
    if (kind not in ("vm", "ct", "fa") or not vmid.isdigit() or not vmid.isascii()
            or not 0 < int(vmid) <= MAX_VMID):
        raise InvalidInput(f"'{visible(sid)}' is not an HA resource id (vm:N or ct:N, N "
                           f"up to {MAX_VMID})", {"sid": visible(sid)})
    return f"{'lxc' if kind == 'ct' else 'qemu'}/{vmid}"


def sid_of(guest: str) -> str:
    kind, _, vmid = guest.partition("/")
    return f"{'vm' if kind == 'qemu' else 'ct'}:{vmid}"


# A service's requested states in service_config (Sim/Hardware.pm; "enabled" is the
# older name of "started")
_SERVICE_STATES = ("started", "enabled", "stopped", "disabled", "ignored")


def _service(path: Path, sid: str, entry: object, nodes: dict[str, tuple[bool, bool]]
             ) -> Service:
    """One service_config entry. Raises InvalidInput naming the entry when it is not
    an object with a known node, a requested state and whole-number limits."""
    where = f"{path}/service_config: {visible(sid)}"
    if not isinstance(entry, dict):
        raise InvalidInput(f"{where}: expected an object", {"service_config": "objects"})
    try:
        guest_id(sid)
    except InvalidInput as exc:
        raise InvalidInput(f"{path}/service_config: {exc}", exc.fields) from exc
    node, state = entry.get("node"), entry.get("state") or "disabled"
    if node not in nodes:
        raise InvalidInput(f"{where}: node {as_written(node)} is not in hardware_status",
                           {"service_config": "a node of hardware_status"})
    if state not in _SERVICE_STATES:
        raise InvalidInput(f"{where}: state {as_written(state)} is not one of "
                           + ", ".join(_SERVICE_STATES),
                           {"service_config": "a requested state"})
    try:
        limits = int(entry.get("max_restart", 1)), int(entry.get("max_relocate", 1))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{where}: max_restart and max_relocate are whole numbers",
                           {"service_config": "whole numbers"}) from exc
    group = entry.get("group")
    return Service(sid, node, "started" if state == "enabled" else state,
                   None if group is None else str(group), *limits,
                   str(entry.get("failback", 1)) not in ("0", "False"))


def read_testdir(path: Path) -> HATestCase:
    """Read one test directory. Raises InvalidInput when a file is missing or malformed;
    what the simulator cannot model is listed in `problems`, not raised."""
    if not (path / "cmdlist").is_file():
        raise InvalidInput(f"{path}: no cmdlist: not a pve-ha-manager test directory",
                           {"scenario": "no cmdlist"})
    problems: list[str] = []
    rounds = _json(path / "cmdlist")
    if not isinstance(rounds, list) or not all(
            isinstance(r, list) and all(isinstance(c, str) for c in r) for r in rounds):
        raise InvalidInput(f"{path}/cmdlist: expected a list of lists of commands",
                           {"cmdlist": "a list of lists of strings"})
    hardware = _json(path / "hardware_status")
    if not isinstance(hardware, dict):
        raise InvalidInput(f"{path}/hardware_status: expected an object",
                           {"hardware_status": "an object"})
    nodes = {str(name): (d.get("power") == "on", d.get("network") == "on")
             for name, d in sorted(hardware.items()) if isinstance(d, dict)}
    bad = [visible(n) for n in nodes if not NODE_NAME.match(n)]
    if bad:
        raise InvalidInput(f"{path}/hardware_status: not node names: {', '.join(bad)}",
                           {"hardware_status": "node names are hostnames"})
    config = _json(path / "service_config")
    if not isinstance(config, dict):
        raise InvalidInput(f"{path}/service_config: expected an object",
                           {"service_config": "an object"})
    services = [_service(path, str(sid), d, nodes) for sid, d in sorted(config.items())]
    groups = parse_groups(_text(path / "groups")) if (path / "groups").is_file() else []
    defined = {g.name for g in groups}
    for service in services:
        if service.group is not None and service.group not in defined:
            raise InvalidInput(f"{path}/service_config: {visible(service.sid)}: group "
                               f"{as_written(service.group)} is not defined in groups",
                               {"service_config": "a group of the groups file"})
    affinity: list[tuple[str, tuple[str, ...], bool]] = []
    if (path / "rules_config").is_file():
        groups += parse_rules(_text(path / "rules_config"), problems, affinity)
    policy, crs = "conditional", CRSOptions()
    if (path / "datacenter.cfg").is_file():
        datacenter = _json(path / "datacenter.cfg")
        ha = datacenter.get("ha", {}) if isinstance(datacenter, dict) else {}
        policy = str(ha.get("shutdown_policy", policy))
        if not isinstance(datacenter, dict) or set(datacenter) - {"ha", "crs"} or set(ha) - {
                "shutdown_policy"}:
            problems.append("datacenter.cfg options other than ha: shutdown_policy and crs")
        elif "crs" in datacenter:
            crs = _crs(datacenter["crs"], problems)
    try:
        sizes = {str(name): (float(d["maxcpu"]), int(d["maxmem"]))
                 for name, d in hardware.items()
                 if isinstance(d, dict) and "maxcpu" in d and "maxmem" in d}
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{path}/hardware_status: maxcpu and maxmem are numbers: {exc}",
                           {"hardware_status": "maxcpu and maxmem are numbers"}) from exc
    static = (_stats(path / "static_service_stats", "maxcpu", "maxmem")
              if (path / "static_service_stats").is_file() else {})
    dynamic = (_stats(path / "dynamic_service_stats", "cpu", "mem")
               if (path / "dynamic_service_stats").is_file() else {})
    status = (ha_teststatus.parse(_json(path / "manager_status"), set(nodes),
                                  {s.sid for s in services}, problems)
              if (path / "manager_status").is_file() else None)
    expected = None
    if (path / "log.expect").is_file():
        expected, _ = parse_log(_text(path / "log.expect"))
    readme = _text(path / "README") if (path / "README").is_file() else ""
    return HATestCase(path.name, nodes, services, groups, rounds, problems, expected,
                      readme.strip(), policy, affinity, crs, sizes, static, dynamic, status)
