"""Rebalance plans for any cluster: which running guests to migrate where so that CPU
and memory load even out, with the measures of Proxmox VE's cluster resource scheduler.

Usage (`balance.usage`): in the static mode a node carries the configured vCPUs and
memory of the guests running on it (proxmox-resource-scheduling `src/pve_static.rs`,
StaticNodeUsage::add_service_usage); in the dynamic mode (PVE 9.2's dynamic load) what
they use now: the node's measured CPU and memory, a guest's measured share of them.

A target is chosen as Proxmox chooses a node for a service: every allowed node is scored
by TOPSIS (`topsis.score`) over average and highest CPU and memory usage of the cluster
as if the guest ran there (pve_static.rs's score_nodes_to_start_service), and the best
wins. The imbalance is proxmox-resource-scheduling's (`node_imbalance`, the measure
PVE 9.2's auto-rebalance acts on): a node's load is the mean of its CPU and memory
fractions (NodeStats::load), and the cluster's imbalance the coefficient of variation
of the nodes' loads: 0 when every node carries the same load, sqrt(n - 1) when one of
n nodes carries it all. A plan moves one guest at a time, each
move the one that lowers the imbalance most and by at least `MARGIN` of itself (as
auto-rebalance's margin), each on top of the moves before it.

A guest stays where it is, with the reason, when it is locked, on a local disk (a live
migration needs shared storage), pinned by the backend, HA-managed on a cluster whose
own CRS places HA guests, kept together with others, or when no node may take it (node
affinity, keep-apart, maintenance, offline, too little free memory). A move that would
have been the best but a rule forbids is kept in the plan's `blocked`, naming the rule.
A guest's own HA node list (`HAConfig.nodes`) is a rule too.

Pure: it reads the model, never a backend; callers gather `Rules`
(`vmconsole.backends.placement.gather`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# The HA placements and the simulator's CRS import these from the planner: `X as X`
# marks them as its exports (mypy's no-implicit-reexport).
from vmconsole.balance.usage import MODES as MODES
from vmconsole.balance.usage import Usage as Usage
from vmconsole.balance.usage import guest_usage as guest_usage
from vmconsole.balance.usage import imbalance, node_unusable
from vmconsole.balance.usage import node_imbalance as node_imbalance
from vmconsole.balance.usage import topsis_row as topsis_row
from vmconsole.balance.usage import topsis_scores as topsis_scores
from vmconsole.balance.usage import usage as usage
from vmconsole.model import Guest, Inventory

# Least relative gain worth a migration: datacenter.cfg's ha-auto-rebalance-margin default
# (Manager.pm's load_balance: (imbalance - after) / imbalance >= margin)
MARGIN = 0.1


@dataclass(frozen=True, slots=True)
class AffinityRule:
    """A resource affinity rule (PVE 9's `resource-affinity`): its guests kept on one
    node (`together`) or each on a different one."""

    name: str
    guests: frozenset[str]
    together: bool


@dataclass(frozen=True, slots=True)
class Rules:
    """What the cluster's configuration says about placement, as a backend tells it.
    `refused`: guest id -> node -> why the guest may not run there (an HA group, node
    affinity, the backend's own refusal); `pinned`: guest id -> why it cannot move at
    all (local disks the backend found); `crs`: the cluster's own scheduler for HA guests
    (Proxmox's datacenter.cfg `crs: ha=...`), None where there is none: HA guests are
    then planned like the others."""

    refused: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    pinned: Mapping[str, str] = field(default_factory=dict)
    affinity: tuple[AffinityRule, ...] = ()
    crs: str | None = None


@dataclass(frozen=True, slots=True)
class Move:
    """Migrate `guest` (id; `name` for people) from `source` to `target`; `gain` is the
    imbalance it removes (`node_imbalance`'s 0..1); `reason` why that node; `blocked_by` the rule
    that forbids it ("" when allowed)."""

    guest: str
    name: str
    source: str
    target: str
    gain: float
    reason: str = ""
    blocked_by: str = ""


@dataclass(frozen=True, slots=True)
class Stuck:
    """A running guest the plan cannot move, and why."""

    guest: str
    name: str
    node: str
    reason: str


@dataclass(frozen=True, slots=True)
class NodeLoad:
    """A node before and after the plan, in percent of its CPUs and memory."""

    node: str
    cpu_before: float
    mem_before: float
    cpu_after: float
    mem_after: float
    load_before: float
    load_after: float


@dataclass(frozen=True, slots=True)
class Plan:
    """A what-if: the moves in order, the moves a rule forbids, the guests that stay and
    why, and each usable node's load before and after (percent); the imbalance
    (`node_imbalance`, 0..1) before and after."""

    mode: str
    moves: tuple[Move, ...]
    blocked: tuple[Move, ...]
    stuck: tuple[Stuck, ...]
    nodes: tuple[NodeLoad, ...]
    imbalance_before: float
    imbalance_after: float
    notes: tuple[str, ...] = ()


def _by_reason(refused: Mapping[str, str]) -> str:
    """"pve1, pve3: group web: not a member; pve2: in maintenance"."""
    nodes: dict[str, list[str]] = {}
    for node, why in refused.items():
        nodes.setdefault(why, []).append(node)
    return "; ".join(why if all(n in why for n in names) else f"{', '.join(names)}: {why}"
                     for why, names in nodes.items())


class _Planner:
    def __init__(self, inventory: Inventory, rules: Rules, mode: str) -> None:
        self.inventory, self.rules, self.mode = inventory, rules, mode
        self.loads = usage(inventory, mode)
        self.placement = {g.id: g.node for g in inventory.guests}
        self.scored: dict[tuple[str, float, float, tuple[str, ...]], dict[str, float]] = {}
        self.nodes = {n.name: n for n in inventory.nodes}
        local = {s.name for s in inventory.storages if not s.shared}
        self.local = local - {s.name for s in inventory.storages if s.shared}

    def pinned(self, guest: Guest) -> str | None:
        """Why the guest cannot move at all, or None."""
        if guest.lock:
            return f"locked ({guest.lock})"
        if guest.duplicate is not None:
            copy = guest.duplicate
            return f"defined on more than one node (one {copy.shared} {copy.value})"
        if guest.id in self.rules.pinned:
            return self.rules.pinned[guest.id]
        if guest.ha is not None and self.rules.crs is not None:
            return f"HA-managed: left to Proxmox's CRS (ha={self.rules.crs})"
        local = [s for s in guest.storages if s in self.local]
        if local:
            return f"disk on local storage {', '.join(local)}: cannot migrate live"
        for rule in self.rules.affinity:
            if rule.together and guest.id in rule.guests and len(rule.guests) > 1:
                return f"rule {rule.name}: kept together with {len(rule.guests) - 1} other(s)"
        return None

    def refusal(self, guest: Guest, target: str, moved: Mapping[str, str]) -> str | None:
        """Why `guest` may not go to `target` now, or None."""
        node = self.nodes.get(target)
        if node is None or (why := node_unusable(node)) is not None:
            return why or f"no node {target}"
        if (why := self.rules.refused.get(guest.id, {}).get(target)) is not None:
            return why
        if guest.ha is not None and guest.ha.nodes and target not in guest.ha.nodes:
            # the HA manager for libvirt (vmconsole.ha) would bring it back to these
            return f"HA node affinity: {target} is not one of {', '.join(guest.ha.nodes)}"
        down = [s for s in guest.storages if s in node.storage_down]
        if down:
            return f"storage {', '.join(down)} is down on {target}"
        for rule in self.rules.affinity:
            if rule.together or guest.id not in rule.guests:
                continue
            if any(moved.get(other, self.placement.get(other)) == target
                   for other in rule.guests - {guest.id}):
                return f"rule {rule.name}: keep apart from a guest on {target}"
        _, mem = guest_usage(guest, "static")
        free = node.maxmem - self.loads[target].mem
        if mem > free:
            return (f"{target} has {free / 2**30:.1f} GiB free, {guest.name} needs "
                    f"{mem / 2**30:.1f} GiB")
        return None

    def choose(self, guest: Guest, moved: Mapping[str, str], exclude: Iterable[str] = ()
               ) -> tuple[str | None, str, dict[str, str]]:
        """(best allowed node or None, why, refused node -> reason) for one guest."""
        source = moved.get(guest.id, guest.node)
        cpu, mem = guest_usage(guest, self.mode)
        without = dict(self.loads)
        if source in without:
            without[source] = without[source].plus(-cpu, -mem)
        skip = {source, *exclude}
        refused: dict[str, str] = {}
        allowed = []
        for name in self.nodes:
            if name in skip:
                continue
            why = self.refusal(guest, name, moved)
            if why is None:
                allowed.append(name)
            else:
                refused[name] = why
        if not allowed:
            return None, _by_reason(refused) or "no other usable node", refused
        # Guests of one size on one node score alike: scored once per plan step.
        key = (source, cpu, mem, tuple(allowed))
        if (scores := self.scored.get(key)) is None:
            scores = self.scored[key] = topsis_scores(without, allowed, cpu, mem)
        best = max(allowed, key=lambda n: (scores[n], -allowed.index(n)))
        after = without[best].plus(cpu, mem)
        return best, (f"TOPSIS score {scores[best]:.2f}: {best} at CPU "
                      f"{after.cpu_percent:.0f}%, memory {after.mem_percent:.0f}% after"), refused

    def gain_of(self, guest: Guest, source: str, target: str) -> float:
        cpu, mem = guest_usage(guest, self.mode)
        trial = dict(self.loads)
        trial[source] = trial[source].plus(-cpu, -mem)
        trial[target] = trial[target].plus(cpu, mem)
        return imbalance(self.loads) - imbalance(trial)

    def run(self, limit: int) -> Plan:
        before = dict(self.loads)
        moved: dict[str, str] = {}
        moves: list[Move] = []
        blocked: list[Move] = []
        stuck: dict[str, Stuck] = {}
        running = [g for g in self.inventory.guests
                   if g.running and not g.template and g.node in self.loads]
        for guest in running:
            if (why := self.pinned(guest)) is not None:
                stuck[guest.id] = Stuck(guest.id, guest.name, guest.node, why)
        for _ in range(limit):
            best: Move | None = None
            best_blocked: Move | None = None
            self.scored = {}  # the loads changed
            mean = sum(u.load for u in self.loads.values()) / max(len(self.loads), 1)
            least = MARGIN * imbalance(self.loads)
            for guest in running:
                if guest.id in stuck or guest.id in moved:
                    continue
                if self.loads[guest.node].load <= mean:
                    continue  # a balancer drains the busy nodes; quiet ones gain little
                target, why, refused = self.choose(guest, moved)
                for node, rule in refused.items():
                    if node not in self.loads:  # an unusable node: not a what-if
                        continue
                    gain = self.gain_of(guest, guest.node, node)
                    if gain > 0 and gain >= least and (best_blocked is None
                                                       or gain > best_blocked.gain):
                        best_blocked = Move(guest.id, guest.name, guest.node, node, gain,
                                            blocked_by=rule)
                if target is None:
                    continue
                gain = self.gain_of(guest, guest.node, target)
                if gain > 0 and gain >= least and (best is None or gain > best.gain):
                    best = Move(guest.id, guest.name, guest.node, target, gain, why)
            if best_blocked is not None and (best is None or best_blocked.gain > best.gain):
                blocked.append(best_blocked)
            if best is None:
                break
            moves.append(best)
            moved[best.guest] = best.target
            cpu, mem = guest_usage(next(g for g in running if g.id == best.guest), self.mode)
            self.loads[best.source] = self.loads[best.source].plus(-cpu, -mem)
            self.loads[best.target] = self.loads[best.target].plus(cpu, mem)
        self.scored = {}
        for guest in running:
            if guest.id in stuck or guest.id in moved:
                continue
            target, why, _ = self.choose(guest, moved)
            if target is None:
                stuck[guest.id] = Stuck(guest.id, guest.name, guest.node, why)
        nodes = tuple(NodeLoad(name, u.cpu_percent, u.mem_percent,
                               self.loads[name].cpu_percent, self.loads[name].mem_percent,
                               u.load, self.loads[name].load) for name, u in before.items())
        notes = []
        if self.rules.crs is not None:
            notes.append(f"HA-managed guests are left to Proxmox's own CRS (ha={self.rules.crs})")
        unusable = [why for n in self.inventory.nodes if (why := node_unusable(n))]
        notes += unusable
        return Plan(self.mode, tuple(moves), tuple(blocked), tuple(stuck.values()), nodes,
                    imbalance(before), imbalance(self.loads), tuple(notes))


def plan(inventory: Inventory, rules: Rules | None = None, mode: str = "static",
         limit: int = 10) -> Plan:
    """The rebalance plan for `inventory`: up to `limit` moves, best first, each on top
    of the ones before. Raises ValueError for a mode not in MODES."""
    return _Planner(inventory, rules or Rules(), mode).run(limit)


def best_target(inventory: Inventory, guest_id: str, exclude: Iterable[str] = (),
                rules: Rules | None = None, mode: str = "static",
                moved: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """Where the scheduler would put guest `guest_id` (any status) other than its node
    and `exclude`: (node, why: its TOPSIS score and load after), or (None, why no node
    may take it). `moved` (guest id -> node) counts guests already sent elsewhere, as
    when a node is emptied guest by guest. For a node's evacuation or a bulk migration.
    Raises KeyError for an unknown guest, ValueError for a mode not in MODES."""
    planner = _Planner(inventory, rules or Rules(), mode)
    by_id = {g.id: g for g in inventory.guests}
    guest = by_id[guest_id]
    for other, node in (moved or {}).items():
        if other in by_id and node in planner.loads:
            cpu, mem = guest_usage(by_id[other], mode)
            source = by_id[other].node
            if by_id[other].running and source in planner.loads:
                planner.loads[source] = planner.loads[source].plus(-cpu, -mem)
            planner.loads[node] = planner.loads[node].plus(cpu, mem)
    if not guest.running and guest.node in planner.loads:  # it adds nothing where it is
        planner.loads[guest.node] = planner.loads[guest.node].plus(*guest_usage(guest, mode))
    target, why, _ = planner.choose(guest, dict(moved or {}), exclude)
    return target, why
