"""vCenter's inventory, read in one PropertyCollector call, as a `model.Inventory`.

Datacenter → cluster → hosts → VMs and templates, and the datastores. Datacenters and
vSphere clusters are the inventory's containers (`model.containers.Container`), each
host names its own: its vSphere cluster, or for a standalone host its datacenter. A VM's
node is the host in its `runtime.host`: vSphere's placement of record (a host's own `vm`
list can lag behind a relocation, and does in vcsim). A node is a host, named as vCenter
names it; a guest's id is its managed object id (`vm-42`), unique within the vCenter.

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
    RestartPriority,
    Storage,
    restart_priority,
)
from vmconsole.model.containers import Container
from vmconsole.model.vsphere import VSphereClusterConfig, VSphereVmHA

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
    # A standalone host's ComputeResource and a vSphere cluster (ClusterComputeResource,
    # whose configurationEx holds vSphere HA and DRS); the folders and datacenters above
    # them place each in its datacenter.
    vim.ComputeResource: ("name", "parent", "configurationEx"),
    vim.ClusterComputeResource: ("recommendation",),  # DRS's, where vCenter has any
    vim.Folder: ("parent",),
    vim.Datacenter: ("name",),
    vim.Datastore: ("name", "summary", "host"),
}
VIEW_TYPES = tuple(PATHS)

# A VM override of "clusterRestartPriority" means: the cluster's default.
CLUSTER_DEFAULT = "clusterRestartPriority"
DATACENTER, VSPHERE_CLUSTER = "datacenter", "vSphere cluster"


@dataclass(frozen=True, slots=True)
class Reading:
    """One poll: the inventory, and what the backend keeps for operations."""

    inventory: Inventory
    host_refs: Mapping[str, Any]  # host name -> vim.HostSystem
    vm_refs: Mapping[str, Any]  # guest id -> vim.VirtualMachine


def container_id(moid: str) -> str:
    """The model's id of a datacenter or vSphere cluster ("container/domain-c7")."""
    return f"container/{moid}"


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
    containers, hosts_in = _containers(by_type[vim.Datacenter], by_type[vim.Folder],
                                       by_type[vim.ComputeResource])
    nodes = tuple(sorted((_node(h, hosts_in.get(getattr(h.get("parent"), "_moId", "")))
                          for h in hosts), key=lambda n: n.name))
    config_of = {container_id(c.moid): c.get("configurationEx")
                 for c in by_type[vim.ComputeResource]}
    settings_of = {c.id: c.vsphere for c in containers}
    node_container = {n.name: n.container for n in nodes}
    guests = []
    for vm in by_type[vim.VirtualMachine]:
        host = vm.get("runtime.host")
        host_moid = host._moId if host is not None else ""
        node = host_names.get(host_moid, "")
        where = node_container.get(node) or ""
        guests.append(_guest(vm, node, host_mhz.get(host_moid, 0), ds_names,
                             settings_of.get(where), config_of.get(where)))
    inventory = Inventory(
        cluster=cluster, nodes=nodes,
        guests=tuple(sorted(guests, key=lambda g: (g.name, g.id))),
        storages=_storages(by_type[vim.Datastore], hosts, host_names), quorum=None, taken_at=now,
        containers=containers)
    return Reading(
        inventory=inventory,
        host_refs={host_names[h.moid]: h.ref for h in hosts},
        vm_refs={vm.moid: vm.ref for vm in by_type[vim.VirtualMachine]})


def _containers(datacenters: list[ObjectProps], folders: list[ObjectProps],
                computes: list[ObjectProps]
                ) -> tuple[tuple[Container, ...], dict[str, str | None]]:
    """Each datacenter, then each vSphere cluster in its datacenter (by name), and the
    container of each compute resource's hosts (by its moid). A standalone host's
    ComputeResource is no level of its own: the host stands in its datacenter. Folders
    are looked through, not shown (vSphere Client's "Hosts and Clusters" view shows
    them; here they would add a level to every path)."""
    parent_of = {f.moid: f.get("parent") for f in folders}
    dc_ids = {d.moid for d in datacenters}

    def datacenter(ref: Any) -> str | None:
        for _ in range(64):  # folders nest; a cycle must not hang a poll
            if ref is None:
                return None
            if ref._moId in dc_ids:
                return container_id(ref._moId)
            ref = parent_of.get(ref._moId)
        return None

    out = [Container(id=container_id(d.moid), name=str(d.get("name", d.moid)),
                     kind=DATACENTER) for d in sorted(datacenters, key=_name)]
    hosts_in: dict[str, str | None] = {}
    for compute in sorted(computes, key=_name):
        around = datacenter(compute.get("parent"))
        if isinstance(compute.ref, vim.ClusterComputeResource):
            out.append(Container(id=container_id(compute.moid),
                                 name=str(compute.get("name", compute.moid)),
                                 kind=VSPHERE_CLUSTER, parent=around,
                                 vsphere=cluster_config(compute.get("configurationEx"),
                                                        compute.get("recommendation", ()))))
            hosts_in[compute.moid] = container_id(compute.moid)
        else:
            hosts_in[compute.moid] = around
    return tuple(out), hosts_in


def _name(obj: ObjectProps) -> tuple[str, str]:
    return (str(obj.get("name", "")), obj.moid)


def cluster_config(config: Any, recommendations: Iterable[Any] = ()) -> VSphereClusterConfig:
    """A vSphere cluster's HA and DRS settings from its `configurationEx`
    (ClusterConfigInfoEx), what it leaves unset staying None, and DRS's pending
    `recommendation`s (ClusterRecommendation: rating 1-5, reasonText), highest first."""
    das = getattr(config, "dasConfig", None)
    drs = getattr(config, "drsConfig", None)
    behavior = getattr(drs, "defaultVmBehavior", None)
    default = getattr(getattr(das, "defaultVmSettings", None), "restartPriority", None)
    return VSphereClusterConfig(
        ha_enabled=getattr(das, "enabled", None),
        default_restart_priority=restart_priority(str(default)) if default else None,
        drs_enabled=getattr(drs, "enabled", None),
        drs_behavior=str(behavior) if behavior else None,
        drs_recommendations=tuple(
            f"rating {r.rating} of 5: {r.reasonText or r.reason}"
            for r in sorted(recommendations, key=lambda r: -int(r.rating or 0))))


# Figures that quick stats never carry, for hosts and for VMs.
_NO_RATES = ("disk_read", "disk_write", "net_in", "net_out")


def _missing(stats: Any, fields: Mapping[str, str]) -> tuple[str, ...]:
    """The model's names of the quick stats fields that are not set."""
    return tuple(ours for ours, theirs in fields.items()
                 if getattr(stats, theirs, None) is None)


def _node(host: ObjectProps, container: str | None) -> Node:
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
        container=container,
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
           cluster: VSphereClusterConfig | None, config: Any) -> Guest:
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
        ha=None if template or cluster is None else _ha(vm, cluster, config, powered_on),
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


def vm_restart_priority(vm_moid: str, config: Any) -> tuple[str | None, bool]:
    """The VM's HA restart priority in its cluster's `configurationEx`: its override in
    `dasVmConfig`, else the cluster's default; and whether it is an override."""
    for entry in getattr(config, "dasVmConfig", None) or ():
        if entry.key._moId == vm_moid:
            own = getattr(entry.dasSettings, "restartPriority", None) or entry.restartPriority
            if own and own != CLUSTER_DEFAULT:
                return str(own), True
    das = getattr(config, "dasConfig", None)
    default = getattr(getattr(das, "defaultVmSettings", None), "restartPriority", None)
    return (str(default) if default else None), False


def _ha(vm: ObjectProps, cluster: VSphereClusterConfig, config: Any, powered_on: bool
        ) -> HAConfig | None:
    """vSphere HA as the tree shows it: a VM is HA-managed when its cluster has vSphere
    HA on, or when it has a restart priority of its own (kept while HA is off)."""
    text, own = vm_restart_priority(vm.moid, config)
    priority = restart_priority(text) if text else None
    if not (cluster.ha_enabled or own):
        return None
    vsphere = VSphereVmHA(restart_priority=priority, own=own)
    if priority is RestartPriority.DISABLED:
        return HAConfig(request=HARequest.DISABLED, state=HAState.DISABLED, vsphere=vsphere)
    if not cluster.ha_enabled:
        # The priority is kept, but vSphere HA is off (or not reported) on the cluster.
        return HAConfig(request=HARequest.STARTED, state=HAState.DISABLED, vsphere=vsphere)
    protection = vm.get("runtime.dasVmProtection")
    if protection is not None and not protection.dasProtected and powered_on:
        state = HAState.ERROR  # HA is on but has not (yet) protected this running VM
    else:
        state = HAState.STARTED if powered_on else HAState.STOPPED
    return HAConfig(request=HARequest.STARTED, state=state, vsphere=vsphere)


def _storages(datastores: list[ObjectProps], hosts: list[ObjectProps],
              host_names: Mapping[str, str]) -> tuple[Storage, ...]:
    """A datastore mounted on more than one host is shared; one on a single host is that
    host's local storage. The mounts are the datastore's `host` list and the hosts'
    `datastore` lists together: vcsim lists one host in the first where every host of
    the datacenter has the datastore in the second."""
    listed_by: dict[str, set[str]] = {}
    for host in hosts:
        for ref in host.get("datastore", []):
            listed_by.setdefault(ref._moId, set()).add(host_names[host.moid])
    out = []
    for ds in datastores:
        summary = ds.get("summary")
        mounted = sorted({host_names.get(m.key._moId, m.key._moId) for m in ds.get("host", [])
                          if getattr(m.mountInfo, "mounted", True) is not False}
                         | listed_by.get(ds.moid, set()))
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


__all__ = ["CLUSTER_DEFAULT", "DATACENTER", "PATHS", "VIEW_TYPES", "VSPHERE_CLUSTER", "Reading",
           "build", "cluster_config", "container_id", "guest_status", "host_status",
           "vm_restart_priority"]
