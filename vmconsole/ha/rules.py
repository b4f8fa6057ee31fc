"""pve-ha-manager's rules as pure functions, shared by the simulator's CRM
(`backends/sim/ha*.py`) and the HA manager for libvirt (`vmconsole.ha.manager`), so the
demo and a real cluster decide alike.

- `offline_delayed`: NodeStatus.pm's node_is_offline_delayed, the fence delay.
- `select_service_node`: Manager.pm's select_service_node: the nodes the service's
  node affinity (group priorities) allows at the top priority, minus those resource
  affinity keeps it from, scored by the cluster resource scheduler's mode
  (datacenter.cfg `crs: ha=`): `basic` by the HA services on each node, as
  Usage/Basic.pm counts them, ties by node name; `static` and `dynamic` by TOPSIS over
  CPU and memory with the service's own usage added on each candidate (Usage/Static.pm,
  Usage/Dynamic.pm, and proxmox-resource-scheduling's `pve_static.rs`
  score_nodes_to_start_service), from the same scoring `vmconsole.balance` plans with.
  Every other node comes with the reason it is out (what Pacemaker's `crm_simulate -s`
  shows next to each score).

Nothing here imports a backend: callers describe their nodes as `NodeView`s. Quorum,
which every start counts, is `quorum`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from vmconsole.balance.usage import Usage, topsis_scores

SCHEDULERS = ("basic", "static", "dynamic")  # datacenter.cfg crs: ha=


@dataclass(frozen=True, slots=True)
class Score:
    """A node's score for one placement. `services` (HA services on it) ranks it in
    the basic mode, `memory_used` (fraction 0..1) is shown with it; in the static and
    dynamic modes `closeness` (TOPSIS, 0..1, higher is better) ranks it, computed with the
    node's CPU and memory at `cpu_after` and `memory_after` percent of its capacity
    once the service is added."""

    services: int
    memory_used: float
    closeness: float | None = None
    cpu_after: float = 0.0
    memory_after: float = 0.0


@dataclass(frozen=True, slots=True)
class Candidate:
    """One node as the scheduler saw it for one placement."""

    node: str
    score: Score | None  # None: excluded, for `reason`
    reason: str = ""  # why it was excluded, or "chosen"


@dataclass(frozen=True, slots=True)
class Scheduler:
    """The CRS mode (one of SCHEDULERS) and what the service to place adds to a node
    in it: `cpu` CPUs and `mem` bytes (static: its configured vCPUs and memory, as
    Usage/Static.pm's service stats; dynamic: what it uses now). The basic mode reads
    neither."""

    mode: str = "basic"
    cpu: float = 0.0
    mem: float = 0.0


@dataclass(frozen=True, slots=True)
class NodeView:
    """A node as a placement sees it. `unusable` says why it cannot take the service at
    all (offline, not online for the manager, maintenance, too little free memory), None
    if it can; `services` counts the HA services active on it; `memory_used` is the
    fraction (0..1) of its memory in use; `index` orders the excluded nodes (node id).
    `usage` is its CPU and memory as the static or dynamic scheduler counts them, for a
    node the CRM counts as online (Manager.pm's online_node_usage: TOPSIS compares
    these nodes); None for the others."""

    name: str
    index: int
    unusable: str | None = None
    services: int = 0
    memory_used: float = 0.0
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class Preferences:
    """A service's node affinity: its group's node -> priority (or its own `nodes`,
    `node_priorities()`), whether it may run only there (`restricted`, a strict rule), and the
    name to quote in reasons (the group's, or "affinity")."""

    priorities: Mapping[str, int] = field(default_factory=dict)
    restricted: bool = False
    label: str = "affinity"


def node_priorities(entries: Iterable[str]) -> dict[str, int]:
    """A node list in Proxmox's syntax (`<node>[:<pri>]`, as in `nodes pve1:2,pve2`) as
    node -> priority; a node without one has priority 0 (PVE::HA::Tools'
    parse_node_priority). Raises ValueError naming an entry that is not a node name
    with an optional non-negative whole priority."""
    out: dict[str, int] = {}
    for entry in entries:
        node, colon, priority = entry.strip().partition(":")
        if not node or (colon and not (priority.isascii() and priority.isdigit())):
            raise ValueError(f"{entry.strip()!r} is not <node>[:<priority>]")
        out[node] = int(priority) if colon else 0
    return out


def node_list_problem(entries: Iterable[str], known: Iterable[str]) -> str | None:
    """Why a node list in Proxmox's syntax (`pve1:2,pve2`, see `node_priorities`) cannot
    be used on a cluster whose nodes are `known`: an entry that is not `<node>[:<pri>]`,
    or a node the cluster does not have. None if it can."""
    try:
        priorities = node_priorities(entries)
    except ValueError as error:
        return str(error)
    names = set(known)
    unknown = [node for node in priorities if node not in names]
    return f"no node {', '.join(unknown)}" if unknown else None


def offline_delayed(last_online: float, now: float, fence_delay: float) -> bool:
    """NodeStatus.pm's node_is_offline_delayed: `fence_delay` seconds (Proxmox: 60) have
    passed since the manager's last round that saw the node online."""
    return now - last_online >= fence_delay


def affinity_exclusion(node: str, together: Mapping[str, str],
                       apart: Mapping[str, str]) -> str | None:
    """Why resource affinity keeps a service off `node`, or None. `together` and `apart`
    map a node to the rule naming a positive (keep together) or negative (keep apart)
    partner placed there (Manager.pm's get_resource_affinity)."""
    if node in apart:
        return f"rule {apart[node]}: keep apart from a service on {node}"
    if together and node not in together:
        where = ", ".join(sorted(together))
        return f"rule {together[next(iter(together))]}: keep together (on {where})"
    return None


def select_service_node(nodes: Sequence[NodeView], prefs: Preferences,
                        together: Mapping[str, str] | None = None,
                        apart: Mapping[str, str] | None = None,
                        scheduler: Scheduler | None = None) -> list[Candidate]:
    """Every node as Manager.pm's select_service_node sees it for one service, best
    first: the chosen node (reason "chosen"), the other scored ones, then the excluded
    ones in node order with their reason. None of them scored: no node can take it.
    `scheduler` (default: basic) ranks the allowed nodes (`rank`)."""
    together, apart = together or {}, apart or {}
    out: list[Candidate] = []
    usable: list[NodeView] = []
    for node in nodes:
        reason = node.unusable or affinity_exclusion(node.name, {}, apart)
        if reason is None:
            usable.append(node)
        else:
            out.append(Candidate(node.name, None, reason))
    priorities, label = prefs.priorities, prefs.label
    preferred = [n for n in usable if n.name in priorities]
    if preferred:
        top = max(priorities[n.name] for n in preferred)
        for node in usable:
            if node not in preferred:
                out.append(Candidate(node.name, None, f"not in {label}'s nodes, and one "
                                     "of them is online"))
            elif priorities[node.name] < top:
                out.append(Candidate(node.name, None, f"{label}: priority "
                                     f"{priorities[node.name]} < {top}"))
        usable = [n for n in preferred if priorities[n.name] == top]
    elif prefs.restricted and usable:
        out += [Candidate(n.name, None, f"{label} is restricted (strict) to "
                          f"{', '.join(sorted(priorities))}") for n in usable]
        usable = []
    if together and any(n.name in together for n in usable):
        for node in usable:
            if node.name not in together:
                out.append(Candidate(node.name, None,
                                     affinity_exclusion(node.name, together, {}) or ""))
        usable = [n for n in usable if n.name in together]
    scored = rank(nodes, usable, scheduler or Scheduler())
    if scored:
        scored[0] = Candidate(scored[0].node, scored[0].score, "chosen")
    index = {n.name: n.index for n in nodes}
    return scored + sorted(out, key=lambda c: index[c.node])


def rank(nodes: Sequence[NodeView], allowed: Sequence[NodeView],
         scheduler: Scheduler) -> list[Candidate]:
    """The `allowed` nodes scored and sorted best first, ties by node name (Manager.pm's
    select_service_node sorts by score, then `$a cmp $b`). Basic: fewest HA services
    (Usage/Basic.pm's count; the memory used is shown, not ranked). Static and dynamic:
    TOPSIS closeness,
    each of the nodes with a `usage` (all of them, not only the allowed ones: Manager.pm
    scores every online node, then sorts its allowed ones by that score) scored with the
    service's CPU and memory added to it. Where a node lacks its usage, the basic
    ranking (as Manager.pm falls back to basic when static stats are missing).
    Raises ValueError for a mode not in SCHEDULERS."""
    if scheduler.mode not in SCHEDULERS:
        raise ValueError(f"scheduler mode {scheduler.mode!r}: one of {', '.join(SCHEDULERS)}")
    loads = {n.name: n.usage for n in nodes if n.usage is not None}
    if scheduler.mode == "basic" or any(n.name not in loads for n in allowed):
        ranked = sorted(allowed, key=lambda n: (n.services, n.name))
        return [Candidate(n.name, Score(n.services, n.memory_used), "") for n in ranked]
    closeness = topsis_scores(loads, list(loads), scheduler.cpu, scheduler.mem)
    ranked = sorted(allowed, key=lambda n: (-closeness[n.name], n.name))
    out = []
    for n in ranked:
        after = loads[n.name].plus(scheduler.cpu, scheduler.mem)
        out.append(Candidate(n.name, Score(n.services, n.memory_used, closeness[n.name],
                                           after.cpu_percent, after.mem_percent), ""))
    return out


def chosen(candidates: Sequence[Candidate]) -> str | None:
    """The node a placement picks from `select_service_node`'s list (None: none can)."""
    return candidates[0].node if candidates and candidates[0].score is not None else None


def describe(candidate: Candidate) -> str:
    """One node of a placement in the scheduler's own terms: "pve2 (1 HA services,
    memory 90%)" (basic), "pve2 (TOPSIS 0.81: CPU 12%, memory 40% with it)" (static,
    dynamic), or "pve3 out: offline"."""
    c, score = candidate, candidate.score
    if score is None:
        return f"{c.node} out: {c.reason}"
    if score.closeness is None:
        text = f"{score.services} HA services, memory {score.memory_used * 100:.0f}%"
    else:
        text = (f"TOPSIS {score.closeness:.2f}: CPU {score.cpu_after:.0f}%, memory "
                f"{score.memory_after:.0f}% with it")
    return f"{c.node} ({text}){' chosen' if c.reason else ''}"


def explain(candidates: Sequence[Candidate]) -> str:
    """One line, like crm_simulate -s: each node's score or why it is out."""
    return "candidates: " + "; ".join(describe(c) for c in candidates)
