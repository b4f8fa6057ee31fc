"""The HA configuration a console edits: a guest's HA settings (`HASettings`, what
`Backend.ha_set` takes: Proxmox's HA resource, vSphere HA's restart priority), and the
cluster-wide: PVE 9's HA rules (node affinity, the HA groups of earlier releases;
resource affinity), the CRS's settings, and a VM's Fault Tolerance with the limits that
decide where its shadow copy may go.

Backend-neutral data. `ha_set` is every backend's (`backends/base.py`); the protocols a
backend implements to offer the rest (`SupportsHAConfig`, `SupportsFaultToleranceLimits`)
are with the other abilities in `backends/abilities.py`: the console checks them before
its first screen, which needs none of this data (issue 12). The simulator is the one
that offers them (`backends/sim/ha_config.py`). Their setters take plain values (str,
int, bool, list, dict), so a served console's call carries nothing the server must
unpickle as a class; `HASettings` is one of the few that `serve/wire.py` lets cross.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vmconsole.model import HARequest, RestartPriority


@dataclass(frozen=True, slots=True)
class HASettings:
    """What `ha_set` asks for. `group`, `nodes` and the counts are the Proxmox HA
    manager's; `restart_priority` is vSphere HA's (None: the cluster's default)."""

    request: HARequest = HARequest.STARTED
    group: str | None = None
    nodes: tuple[str, ...] = ()  # node affinity (PVE 9 rules), when no group
    max_restart: int = 1
    max_relocate: int = 1
    restart_priority: RestartPriority | None = None


@dataclass(frozen=True, slots=True)
class NodeAffinityRule:
    """`node-affinity` (ha-manager rules, PVE 9; an HA group before): its resources run
    on `nodes` (positive; a higher priority is preferred) or are kept off them
    (negative: the nodes carry no priority). Strict: nowhere else, even if every named
    node is down; not strict: preferred. `nofailback`: a service does not move back when
    a preferred node returns. `resources` are guest ids (qemu/100)."""

    name: str
    nodes: dict[str, int] = field(default_factory=dict)  # node -> priority
    positive: bool = True
    strict: bool = False
    nofailback: bool = False
    resources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResourceAffinityRule:
    """`resource-affinity`: keep `resources` (guest ids) on one node (positive) or
    each on a node of its own (negative)."""

    name: str
    resources: tuple[str, ...]
    positive: bool


@dataclass(frozen=True, slots=True)
class HAResourceRef:
    """A guest as the rules name it: its id (qemu/100), Proxmox's sid (vm:100), its
    name, and whether it is an HA resource (only those can be in a rule)."""

    guest: str
    sid: str
    name: str
    ha: bool


@dataclass(frozen=True, slots=True)
class HARules:
    """Every rule of the cluster and what a rule may name."""

    nodes: tuple[str, ...]
    resources: tuple[HAResourceRef, ...]
    node_affinity: tuple[NodeAffinityRule, ...]
    resource_affinity: tuple[ResourceAffinityRule, ...]


# The CRS hold's range, in CRM rounds, which the simulator's `balance.configure` checks:
# the CRS form refuses a hold outside it before it asks the backend.
HOLD_ROUNDS_MIN, HOLD_ROUNDS_MAX = 1, 100


@dataclass(frozen=True, slots=True)
class CRSView:
    """datacenter.cfg's `crs`: the scheduler (basic, static, dynamic) and PVE 9.2's
    auto-rebalance: act once the imbalance (the coefficient of variation of the nodes'
    loads, `vmconsole.balance.planner.node_imbalance`) stays above `threshold` for
    `hold` CRM rounds, if a move lowers it by at least `margin` (a fraction 0..1) of
    itself. Threshold and margin as datacenter.cfg writes them (0.3, 0.1)."""

    mode: str
    auto_rebalance: bool
    threshold: float
    hold: int
    margin: float
    modes: tuple[str, ...] = ("basic", "static", "dynamic")


@dataclass(frozen=True, slots=True)
class FTHost:
    """One node as a place for an FT primary or shadow: the FT VMs and vCPUs it carries
    now (primaries and shadows), and why it cannot take this VM's shadow (None: it can)."""

    node: str
    vms: int
    vcpus: int
    refusal: str | None


@dataclass(frozen=True, slots=True)
class FTLimits:
    """What decides whether a VM can be fault tolerant, and where its shadow goes.

    `refusals` say why FT cannot protect this VM at all, every reason (a container, no
    FT link, an HA resource, not running; empty: it can). `link_gbit` is the cluster's
    FT link, `needed_gbit` what FT needs; `max_vms` and `max_vcpus` the limits per host.
    `protected`: FT is on; `secondary` the shadow's node (None while a new one is
    copied); `slowdown` (percent of the primary's speed lost to checkpoints) and
    `link_load` (percent of the FT link) are FT's price for this VM."""

    guest: str
    node: str
    vcpus: int
    refusals: tuple[str, ...]
    link_gbit: float
    needed_gbit: float
    max_vms: int
    max_vcpus: int
    hosts: tuple[FTHost, ...]
    protected: bool
    secondary: str | None
    checkpoint_ms: float
    takeover_ms: float
    slowdown: float
    link_load: float
