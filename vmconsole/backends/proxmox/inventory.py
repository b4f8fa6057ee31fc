"""PVE's cluster answers as a `model.Inventory`.

`/cluster/resources` gives every node, guest and storage in one call; `/cluster/status`
says which nodes corosync sees and whether the cluster is quorate; the HA manager's
`/cluster/ha/status/current` and `/cluster/ha/resources` say what HA wants and does.
Network and disk counters in `/cluster/resources` are totals since the guest started:
`RateTracker` turns successive samples into rates per second.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from vmconsole.backends.counters import per_second
from vmconsole.backends.proxmox.answers import (
    AMOUNT,
    INTEGER,
    OBJECT,
    SIZE,
    TEXT,
    VMID,
    Record,
    Records,
)
from vmconsole.model import (
    Guest,
    GuestKind,
    GuestStatus,
    HAConfig,
    HARequest,
    HAState,
    Inventory,
    Metrics,
    Node,
    NodeHAState,
    NodeStatus,
    Quorum,
    Storage,
    ha_state,
    node_ha_state,
)

Json = Mapping[str, Any]
_COUNTERS = ("diskread", "diskwrite", "netin", "netout")

# The shapes of the answers read here (`answers.read` checks them before these parsers
# run): every key converted below, and the keys an entry of each type cannot do without.
RESOURCES = Records(
    {"type": TEXT, "node": TEXT, "name": TEXT, "status": TEXT, "lock": TEXT, "tags": TEXT,
     "storage": TEXT, "plugintype": TEXT, "content": TEXT, "vmid": VMID,
     "template": INTEGER, "shared": INTEGER, "maxcpu": SIZE, "maxmem": SIZE, "mem": SIZE,
     "maxdisk": SIZE, "disk": SIZE, "cpu": AMOUNT, "uptime": AMOUNT,
     **dict.fromkeys(_COUNTERS, AMOUNT)},
    required={"node": ("node",), "qemu": ("vmid", "node"), "lxc": ("vmid", "node"),
              "storage": ("storage", "node")}, listed=True)
# Unfiltered, as the poll reads it: PVE lists every node of the cluster, the one that
# answers at least (with its figures only where the user may see them: pve-manager's
# PVE::API2::Cluster `resources`), so a listing of no node is not PVE's.
EVERY_RESOURCE = replace(RESOURCES, lists="node")
# A node always lists itself (type "node", local 1), clustered or not.
STATUS = Records({"type": TEXT, "name": TEXT, "ip": TEXT, "nodes": SIZE,
                  "quorate": INTEGER}, required={"node": ("name",)},
                 listed=True, lists="node")
HA_STATUS = Records({"type": TEXT, "sid": TEXT, "node": TEXT, "status": TEXT, "state": TEXT,
                     "request_state": TEXT, "max_restart": INTEGER,
                     "max_relocate": INTEGER})
HA_RESOURCES = Records({"sid": TEXT, "state": TEXT, "group": TEXT, "max_restart": INTEGER,
                        "max_relocate": INTEGER})
HA_MANAGER = Record({"manager_status": OBJECT})


class RateTracker:
    """Rates per second from cumulative counters, by object id; thread-safe."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[float, tuple[float, ...]]] = {}
        self._lock = threading.Lock()

    def rates(self, object_id: str, now: float, item: Json) -> tuple[float, ...]:
        values = tuple(float(item.get(key) or 0) for key in _COUNTERS)
        with self._lock:
            before = self._last.get(object_id)
            self._last[object_id] = (now, values)
        if before is None:
            return (0.0,) * len(values)
        return per_second(before[1], values, now - before[0])

    def forget_missing(self, present: Iterable[str]) -> None:
        keep = set(present)
        with self._lock:
            for key in [k for k in self._last if k not in keep]:
                del self._last[key]


@dataclass(frozen=True, slots=True)
class HAView:
    """What the HA manager says, by service id ("vm:100", "ct:200")."""

    services: Mapping[str, Json]  # /cluster/ha/status/current, type "service"
    config: Mapping[str, Json]  # /cluster/ha/resources
    lrm: Mapping[str, str]  # node -> status text of its local resource manager
    nodes: Mapping[str, str] = field(default_factory=dict)  # node -> the CRM's node state


def ha_view(status: Iterable[Json], resources: Iterable[Json],
            manager: Json | None = None) -> HAView:
    """`status` from /cluster/ha/status/current, `resources` from /cluster/ha/resources,
    `manager` from /cluster/ha/status/manager_status (its `manager_status.node_status`
    holds each node's state as the CRM keeps it)."""
    services = {str(s["sid"]): s for s in status if s.get("type") == "service" and s.get("sid")}
    lrm = {str(s["node"]): str(s.get("status", "")) for s in status
           if s.get("type") == "lrm" and s.get("node")}
    config = {str(r["sid"]): r for r in resources if r.get("sid")}
    node_status = ((manager or {}).get("manager_status") or {}).get("node_status") or {}
    nodes = {str(k): str(v) for k, v in node_status.items() if v} if isinstance(
        node_status, Mapping) else {}
    return HAView(services, config, lrm, nodes)


def service_id(kind: GuestKind, vmid: int) -> str:
    """The HA manager's id of a guest: vm:100, ct:200."""
    return f"{'vm' if kind is GuestKind.VM else 'ct'}:{vmid}"


def build_inventory(cluster: str, now: float, resources: Iterable[Json],
                    status: Iterable[Json], ha: HAView, rates: RateTracker) -> Inventory:
    items = list(resources)
    members = {str(s["name"]): s for s in status if s.get("type") == "node"}
    nodes = tuple(_node(item, members.get(str(item["node"])), ha, now, rates)
                  for item in items if item.get("type") == "node")
    guests = tuple(_guest(item, ha, now, rates)
                   for item in items if item.get("type") in ("qemu", "lxc"))
    storages = _storages(item for item in items if item.get("type") == "storage")
    rates.forget_missing([n.id for n in nodes] + [g.id for g in guests])
    return Inventory(cluster=cluster, nodes=tuple(sorted(nodes, key=lambda n: n.name)),
                     guests=tuple(sorted(guests, key=lambda g: (g.vmid or 0, g.id))),
                     storages=storages, quorum=_quorum(status, len(nodes)), taken_at=now)


def _node(item: Json, member: Json | None, ha: HAView, now: float, rates: RateTracker) -> Node:
    name = str(item["node"])
    status = _enum(NodeStatus, item.get("status"), NodeStatus.UNKNOWN)
    if member is not None and not member.get("online"):
        status = NodeStatus.OFFLINE  # corosync no longer sees it, whatever the RRD says
    disk_read, disk_write, net_in, net_out = rates.rates(f"node/{name}", now, item)
    return Node(
        name=name, status=status, maxcpu=int(item.get("maxcpu") or 0),
        maxmem=int(item.get("maxmem") or 0),
        metrics=Metrics(cpu=float(item.get("cpu") or 0), mem=int(item.get("mem") or 0),
                        disk_read=disk_read, disk_write=disk_write, net_in=net_in,
                        net_out=net_out),
        uptime=float(item.get("uptime") or 0),
        ha_state=node_ha_state(ha.nodes[name]) if name in ha.nodes else _lrm_state(
            ha.lrm.get(name)),
        address=str(member["ip"]) if member is not None and member.get("ip") else None,
    )


def _lrm_state(text: str | None) -> NodeHAState | None:
    """A node's state guessed from its LRM's status line, e.g. "pve1 (active, Thu Jan  1
    ...)", "old timestamp - dead?", where the CRM's own node state is not readable."""
    if not text:
        return None
    lowered = text.lower()
    if "maintenance" in lowered:
        return NodeHAState.MAINTENANCE
    if "dead" in lowered or "unknown" in lowered:
        return NodeHAState.UNKNOWN
    if "fence" in lowered:
        return NodeHAState.FENCE
    return NodeHAState.ONLINE


def _guest(item: Json, ha: HAView, now: float, rates: RateTracker) -> Guest:
    kind = GuestKind(str(item["type"]))
    vmid = int(item["vmid"])
    guest_id = f"{kind.value}/{vmid}"
    disk_read, disk_write, net_in, net_out = rates.rates(guest_id, now, item)
    return Guest(
        id=guest_id, name=str(item.get("name") or f"{kind.value}{vmid}"), kind=kind,
        node=str(item["node"]),
        status=_enum(GuestStatus, item.get("status"), GuestStatus.UNKNOWN),
        vmid=vmid, template=bool(int(item.get("template") or 0)),
        maxcpu=int(float(item.get("maxcpu") or 1)), maxmem=int(item.get("maxmem") or 0),
        maxdisk=int(item.get("maxdisk") or 0), disk=int(item.get("disk") or 0),
        metrics=Metrics(cpu=float(item.get("cpu") or 0), mem=int(item.get("mem") or 0),
                        disk_read=disk_read, disk_write=disk_write, net_in=net_in,
                        net_out=net_out),
        uptime=float(item.get("uptime") or 0),
        ha=_ha(item, service_id(kind, vmid), ha),
        lock=str(item["lock"]) if item.get("lock") else None,
        tags=tuple(t for t in re.split(r"[;, ]+", str(item.get("tags") or "")) if t),
    )


def _ha(item: Json, sid: str, ha: HAView) -> HAConfig | None:
    """The service's state as `ha-manager status` shows it (/cluster/ha/status/current),
    else the CRM's own from /cluster/resources (`hastate`, readable without Sys.Audit);
    a service the CRM has not taken up yet is `queued`, as PVE says. A state this
    console does not know is kept as the manager's string."""
    service, config = ha.services.get(sid, {}), ha.config.get(sid, {})
    state_text = service.get("state") or item.get("hastate")
    if not (state_text or service or config):
        return None
    wanted = str(config.get("state") or service.get("request_state") or "started")
    request = _enum(HARequest, "started" if wanted == "enabled" else wanted, HARequest.STARTED)
    return HAConfig(
        request=request,
        state=ha_state(str(state_text)) if state_text else HAState.QUEUED,
        group=str(config["group"]) if config.get("group") else None,
        max_restart=_count(config.get("max_restart"), service.get("max_restart")),
        max_relocate=_count(config.get("max_relocate"), service.get("max_relocate")),
    )


def _count(*values: Any) -> int:
    """The first of the values that is set (0 is), else PVE's default of 1."""
    return next((int(v) for v in values if v is not None and v != ""), 1)


def _storages(items: Iterable[Json]) -> tuple[Storage, ...]:
    """Shared storage once for the cluster; local storage once per node."""
    out: dict[str, Storage] = {}
    for item in items:
        name, node = str(item["storage"]), str(item["node"])
        shared = bool(int(item.get("shared") or 0))
        storage_id = f"storage/{name}" if shared else f"storage/{node}/{name}"
        if storage_id in out:
            continue
        out[storage_id] = Storage(
            id=storage_id, name=name, type=str(item.get("plugintype") or ""), shared=shared,
            total=int(item.get("maxdisk") or 0), used=int(item.get("disk") or 0),
            node=None if shared else node, active=item.get("status") == "available",
            content=tuple(c for c in str(item.get("content") or "").split(",") if c),
        )
    return tuple(sorted(out.values(), key=lambda s: s.id))


def _quorum(status: Iterable[Json], node_count: int) -> Quorum | None:
    entries = list(status)
    cluster = next((s for s in entries if s.get("type") == "cluster"), None)
    if cluster is None:
        # A single node outside any cluster: always quorate with its own vote.
        return Quorum(votes=1, expected=1, quorate=True) if node_count == 1 else None
    online = sum(1 for s in entries if s.get("type") == "node" and s.get("online"))
    expected = int(cluster.get("nodes") or node_count)
    return Quorum(votes=online, expected=expected, quorate=bool(int(cluster.get("quorate") or 0)))


def _enum(kind: Any, value: object, default: Any) -> Any:
    try:
        return kind(str(value))
    except ValueError:
        return default
