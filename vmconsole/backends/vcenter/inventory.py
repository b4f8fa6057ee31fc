"""vCenter's inventory, read in one PropertyCollector call, as a `model.Inventory`.

Datacenter → cluster → hosts → VMs and templates, and the datastores. A VM's node is
the host in its `runtime.host`: vSphere's placement of record (a host's own `vm` list can
lag behind a relocation, and does in vcsim). A node is a host, named as vCenter names it;
a guest's id is its managed object id (`vm-42`), unique within the vCenter.

Figures are vCenter's quick stats (vSphere API reference, `HostListSummaryQuickStats`,
`VirtualMachineQuickStats`): CPU in MHz, turned into a fraction of the host's or the
VM's capacity (cores x MHz per core); memory in MB. A figure vCenter does not report is
named in the object's `unreported` (shown as absent, never as zero): quick stats carry no
disk or network rates and hosts no load average, and vcsim leaves VMs' quick stats unset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pyVmomi import vim

from vmconsole.backends.vcenter import addresses
from vmconsole.backends.vcenter.properties import ObjectProps
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
    Storage,
)

MB = 2**20

PATHS: dict[type, tuple[str, ...]] = {
    vim.VirtualMachine: (
        "name", "runtime.host", "runtime.powerState", "runtime.connectionState",
        "config.template", "config.hardware.numCPU", "config.hardware.memoryMB",
        "summary.quickStats", "summary.storage", "datastore",
        "runtime.dasVmProtection", "runtime.faultToleranceState", *addresses.PATHS,
    ),
    vim.HostSystem: (
        "name", "parent", "runtime.connectionState", "runtime.powerState",
        "runtime.inMaintenanceMode", "runtime.dasHostState", "summary.quickStats",
        "summary.hardware", "datastore",
    ),
    vim.ClusterComputeResource: ("name", "configurationEx", "resourcePool"),
    vim.Datastore: ("name", "summary", "host"),
}
VIEW_TYPES = tuple(PATHS)

# vSphere HA restart priorities (ClusterDasVmSettingsRestartPriority), lowest first;
# "disabled" takes a VM out of HA restarts.
RESTART_PRIORITIES = ("lowest", "low", "medium", "high", "highest")
DISABLED = "disabled"
# A VM override of "clusterRestartPriority" means: the cluster's default.
CLUSTER_DEFAULT = "clusterRestartPriority"


@dataclass(frozen=True, slots=True)
class ComputeCluster:
    """A vSphere cluster's HA and DRS settings as vCenter reports them (None: not
    reported, as vcsim leaves vSphere HA)."""

    moid: str
    name: str
    hosts: tuple[str, ...]  # host names
    ha_enabled: bool | None
    drs_enabled: bool | None
    drs_behavior: str | None  # manual, partiallyAutomated, fullyAutomated
    default_restart_priority: str | None


@dataclass(frozen=True, slots=True)
class Reading:
    """One poll: the inventory, and what the backend keeps for operations."""

    inventory: Inventory
    clusters: tuple[ComputeCluster, ...]
    host_refs: Mapping[str, Any]  # host name -> vim.HostSystem
    vm_refs: Mapping[str, Any]  # guest id -> vim.VirtualMachine
    cluster_of_host: Mapping[str, str]  # host name -> cluster moid


def build(cluster: str, now: float, objects: Iterable[ObjectProps]) -> Reading:
    """The inventory of one poll's objects (from `PATHS` over the whole vCenter)."""
    by_type: dict[type, list[ObjectProps]] = {kind: [] for kind in PATHS}
    for obj in objects:
        for kind in PATHS:
            if isinstance(obj.ref, kind):
                by_type[kind].append(obj)
    hosts = by_type[vim.HostSystem]
    host_names = {h.moid: str(h.get("name", h.moid)) for h in hosts}
    host_mhz = {h.moid: int(getattr(h.get("summary.hardware"), "cpuMhz", 0) or 0)
                for h in hosts}
    ds_names = {d.moid: str(d.get("name", d.moid)) for d in by_type[vim.Datastore]}
    clusters = tuple(_compute_cluster(c, host_names, hosts)
                     for c in by_type[vim.ClusterComputeResource])
    cluster_of_host = {host_names[h.moid]: h.get("parent")._moId for h in hosts
                       if isinstance(h.get("parent"), vim.ClusterComputeResource)}
    ha_of = {c.moid: c for c in by_type[vim.ClusterComputeResource]}
    nodes = tuple(sorted((_node(h) for h in hosts), key=lambda n: n.name))
    guests = []
    for vm in by_type[vim.VirtualMachine]:
        host = vm.get("runtime.host")
        host_moid = host._moId if host is not None else ""
        cluster_ref = next((h.get("parent") for h in hosts if h.moid == host_moid), None)
        config = ha_of.get(cluster_ref._moId) if isinstance(
            cluster_ref, vim.ClusterComputeResource) else None
        guests.append(_guest(vm, host_names.get(host_moid, ""), host_mhz.get(host_moid, 0),
                             ds_names, config))
    inventory = Inventory(
        cluster=cluster, nodes=nodes,
        guests=tuple(sorted(guests, key=lambda g: (g.name, g.id))),
        storages=_storages(by_type[vim.Datastore], host_names), quorum=None, taken_at=now)
    return Reading(
        inventory=inventory, clusters=clusters,
        host_refs={host_names[h.moid]: h.ref for h in hosts},
        vm_refs={vm.moid: vm.ref for vm in by_type[vim.VirtualMachine]},
        cluster_of_host=cluster_of_host)


# Figures that quick stats never carry, for hosts and for VMs.
_NO_RATES = ("disk_read", "disk_write", "net_in", "net_out")


def _missing(stats: Any, fields: Mapping[str, str]) -> tuple[str, ...]:
    """The model's names of the quick stats fields that are not set."""
    return tuple(ours for ours, theirs in fields.items()
                 if getattr(stats, theirs, None) is None)


def _node(host: ObjectProps) -> Node:
    hardware = host.get("summary.hardware")
    stats = host.get("summary.quickStats")
    cores = int(getattr(hardware, "numCpuCores", 0) or 0)
    mhz = int(getattr(hardware, "cpuMhz", 0) or 0)
    used_mhz = getattr(stats, "overallCpuUsage", None)
    used_mb = getattr(stats, "overallMemoryUsage", None)
    missing = _missing(stats, {"cpu": "overallCpuUsage", "mem": "overallMemoryUsage",
                               "uptime": "uptime"})
    return Node(
        name=str(host.get("name", host.moid)),
        status=host_status(host.get("runtime.connectionState"), host.get("runtime.powerState")),
        maxcpu=int(getattr(hardware, "numCpuThreads", 0) or cores),
        maxmem=int(getattr(hardware, "memorySize", 0) or 0),
        metrics=Metrics(cpu=_fraction(used_mhz, cores * mhz), mem=int(used_mb or 0) * MB),
        uptime=float(getattr(stats, "uptime", 0) or 0),
        ha_state=_host_ha(host),
        unreported=(*missing, "loadavg", *_NO_RATES),
    )


def host_status(connection: object, power: object) -> NodeStatus:
    """vSphere's host connection state (connected, disconnected, notResponding) and
    power state (poweredOn, poweredOff, standBy, unknown) as one status."""
    if connection == "connected" and power == "poweredOn":
        return NodeStatus.ONLINE
    if connection in ("disconnected", "notResponding") or power in ("poweredOff", "standBy"):
        return NodeStatus.OFFLINE
    return NodeStatus.UNKNOWN


# ClusterDasFdmAvailabilityState: what the HA agent (FDM) on a host says of it.
_FDM_STATES = {
    "master": NodeHAState.ONLINE, "connectedToMaster": NodeHAState.ONLINE,
    "election": NodeHAState.UNKNOWN, "uninitialized": NodeHAState.UNKNOWN,
    "initializationError": NodeHAState.UNKNOWN, "fdmUnreachable": NodeHAState.UNKNOWN,
    "networkPartitionedFromMaster": NodeHAState.UNKNOWN,
    "networkIsolated": NodeHAState.UNKNOWN, "hostDown": NodeHAState.GONE,
}


def _host_ha(host: ObjectProps) -> NodeHAState | None:
    if host.get("runtime.inMaintenanceMode"):
        return NodeHAState.MAINTENANCE
    fdm = getattr(host.get("runtime.dasHostState"), "state", None)
    return _FDM_STATES.get(str(fdm)) if fdm else None


def _guest(vm: ObjectProps, node: str, host_mhz: int, ds_names: Mapping[str, str],
           cluster: ObjectProps | None) -> Guest:
    stats = vm.get("summary.quickStats")
    storage = vm.get("summary.storage")
    cpus = int(vm.get("config.hardware.numCPU", 1))
    used_mhz = getattr(stats, "overallCpuUsage", None)
    used_mb = getattr(stats, "guestMemoryUsage", None)
    powered_on = vm.get("runtime.powerState") == "poweredOn"
    missing = _missing(stats, {"cpu": "overallCpuUsage", "mem": "guestMemoryUsage",
                               "uptime": "uptimeSeconds"})
    committed = int(getattr(storage, "committed", 0) or 0)
    template = bool(vm.get("config.template", False))
    found, why_none = addresses.tools_addresses(vm, powered_on)
    return Guest(
        id=vm.moid, name=str(vm.get("name", vm.moid)), kind=GuestKind.VM, node=node,
        status=guest_status(vm.get("runtime.powerState"), vm.get("runtime.connectionState")),
        template=template, maxcpu=cpus, maxmem=int(vm.get("config.hardware.memoryMB", 0)) * MB,
        maxdisk=committed + int(getattr(storage, "uncommitted", 0) or 0), disk=committed,
        metrics=Metrics(cpu=_fraction(used_mhz, cpus * host_mhz), mem=int(used_mb or 0) * MB),
        uptime=float(getattr(stats, "uptimeSeconds", 0) or 0),
        addresses=found, address_note=why_none,
        ha=None if template else _ha(vm, cluster, powered_on),
        storages=tuple(sorted(ds_names.get(d._moId, d._moId) for d in vm.get("datastore", []))),
        tags=_fault_tolerance(vm.get("runtime.faultToleranceState")),
        unreported=(*missing, *_NO_RATES),
    )


def _fault_tolerance(state: object) -> tuple[str, ...]:
    """A Fault Tolerance state (VirtualMachineFaultToleranceState) as a tag, e.g.
    "ft:running", for a VM that has FT configured; vcsim has none."""
    if not state or state == "notConfigured":
        return ()
    return (f"ft:{state}",)


def guest_status(power: object, connection: object = "connected") -> GuestStatus:
    """VirtualMachinePowerState (poweredOn, poweredOff, suspended) as a status; a VM whose
    host vCenter cannot reach (connectionState disconnected, orphaned, inaccessible,
    invalid) is unknown, whatever its last power state."""
    if connection not in (None, "connected"):
        return GuestStatus.UNKNOWN
    return {"poweredOn": GuestStatus.RUNNING, "poweredOff": GuestStatus.STOPPED,
            "suspended": GuestStatus.PAUSED}.get(str(power), GuestStatus.UNKNOWN)


def restart_priority(vm_moid: str, config: Any) -> tuple[str | None, bool]:
    """The VM's HA restart priority (its override, else the cluster's default) and
    whether it is an override of its own."""
    for entry in getattr(config, "dasVmConfig", None) or ():
        if entry.key._moId == vm_moid:
            own = getattr(entry.dasSettings, "restartPriority", None) or entry.restartPriority
            if own and own != CLUSTER_DEFAULT:
                return str(own), True
    das = getattr(config, "dasConfig", None)
    default = getattr(getattr(das, "defaultVmSettings", None), "restartPriority", None)
    return (str(default) if default else None), False


def _ha(vm: ObjectProps, cluster: ObjectProps | None, powered_on: bool) -> HAConfig | None:
    """vSphere HA as the tree shows it: a VM is HA-managed when its cluster has vSphere
    HA on, or when it has a restart priority of its own. `group` holds the priority."""
    if cluster is None:
        return None
    config = cluster.get("configurationEx")
    priority, own = restart_priority(vm.moid, config)
    enabled = getattr(getattr(config, "dasConfig", None), "enabled", None)
    if not (enabled or own):
        return None
    if priority == DISABLED:
        return HAConfig(request=HARequest.DISABLED, state=HAState.DISABLED, group=priority)
    if not enabled:
        # The priority is kept, but vSphere HA is off (or not reported) on the cluster.
        return HAConfig(request=HARequest.STARTED, state=HAState.DISABLED, group=priority)
    protection = vm.get("runtime.dasVmProtection")
    if protection is not None and not protection.dasProtected and powered_on:
        state = HAState.ERROR  # HA is on but has not (yet) protected this running VM
    else:
        state = HAState.STARTED if powered_on else HAState.STOPPED
    return HAConfig(request=HARequest.STARTED, state=state, group=priority)


def describe_cluster(cluster: ComputeCluster) -> str:
    """One line: "3 hosts; vSphere HA on (restart priority medium); DRS on
    (fullyAutomated)"."""

    def setting(name: str, enabled: bool | None, detail: str | None) -> str:
        if enabled is None:
            return f"{name} not reported"
        return f"{name} {'on' if enabled else 'off'}" + (f" ({detail})" if detail else "")

    priority = (f"restart priority {cluster.default_restart_priority}"
                if cluster.default_restart_priority else None)
    return "; ".join((f"{len(cluster.hosts)} hosts",
                      setting("vSphere HA", cluster.ha_enabled, priority),
                      setting("DRS", cluster.drs_enabled, cluster.drs_behavior)))


def _compute_cluster(cluster: ObjectProps, host_names: Mapping[str, str],
                     hosts: list[ObjectProps]) -> ComputeCluster:
    config = cluster.get("configurationEx")
    das = getattr(config, "dasConfig", None)
    drs = getattr(config, "drsConfig", None)
    behavior = getattr(drs, "defaultVmBehavior", None)
    members = tuple(sorted(host_names[h.moid] for h in hosts
                           if getattr(h.get("parent"), "_moId", None) == cluster.moid))
    return ComputeCluster(
        moid=cluster.moid, name=str(cluster.get("name", cluster.moid)), hosts=members,
        ha_enabled=getattr(das, "enabled", None), drs_enabled=getattr(drs, "enabled", None),
        drs_behavior=str(behavior) if behavior else None,
        default_restart_priority=restart_priority("", config)[0])


def _storages(datastores: list[ObjectProps], host_names: Mapping[str, str]
              ) -> tuple[Storage, ...]:
    """A datastore mounted on more than one host is shared; one on a single host is that
    host's local storage."""
    out = []
    for ds in datastores:
        summary = ds.get("summary")
        mounted = [host_names.get(m.key._moId, m.key._moId) for m in ds.get("host", [])
                   if getattr(m.mountInfo, "mounted", True) is not False]
        shared = bool(getattr(summary, "multipleHostAccess", None)) or len(mounted) > 1
        capacity = int(getattr(summary, "capacity", 0) or 0)
        out.append(Storage(
            id=f"storage/{ds.moid}", name=str(ds.get("name", ds.moid)),
            type=str(getattr(summary, "type", "") or ""), shared=shared, total=capacity,
            used=capacity - int(getattr(summary, "freeSpace", 0) or 0),
            node=None if shared or not mounted else mounted[0],
            active=bool(getattr(summary, "accessible", True)), content=("images",)))
    return tuple(sorted(out, key=lambda s: s.id))


def _fraction(used: Any, capacity: int) -> float:
    if used is None or capacity <= 0:
        return 0.0
    return min(1.0, float(used) / capacity)


__all__ = ["PATHS", "RESTART_PRIORITIES", "VIEW_TYPES", "ComputeCluster", "Reading", "build",
           "describe_cluster", "guest_status", "host_status", "restart_priority"]
