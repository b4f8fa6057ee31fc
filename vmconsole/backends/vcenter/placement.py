"""Fresh facts about one VM and the hosts, read just before an operation.

A poll's inventory may be seconds old (the VM may have moved, a host gone into
maintenance since): operations read what they act on again, in one collector call each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pyVmomi import vim

from vmconsole.backends.base import NotFound
from vmconsole.backends.vcenter.migration import HostFacts
from vmconsole.backends.vcenter.properties import retrieve_objects, retrieve_view
from vmconsole.text import visible

_VM_ID = re.compile(r"vm-\d+")
VM_PATHS = ("name", "runtime.host", "runtime.powerState", "config.template", "datastore",
            "snapshot", "parent", "resourcePool")


@dataclass(frozen=True, slots=True)
class VmFacts:
    ref: Any  # vim.VirtualMachine
    id: str
    name: str
    host: Any  # vim.HostSystem or None
    power: str
    template: bool
    datastores: frozenset[str]  # datastore managed object ids
    snapshot: Any  # vim.vm.SnapshotInfo or None
    folder: Any  # vim.Folder
    pool: Any  # vim.ResourcePool or None (templates have none)


@dataclass(frozen=True, slots=True)
class HostPlace:
    """A host with what the checks and the placement of a VM need."""

    ref: Any  # vim.HostSystem
    facts: HostFacts
    compute: Any  # its ComputeResource or ClusterComputeResource
    datastore_refs: dict[str, Any]  # datastore name -> vim.Datastore


def vm_ref(content: Any, guest_id: str) -> Any:
    """The VM's managed object reference. Raises NotFound for a malformed id."""
    if not _VM_ID.fullmatch(guest_id):
        raise NotFound(f"{visible(guest_id)} is not a vCenter VM id (vm-N)")
    return vim.VirtualMachine(guest_id, content.rootFolder._stub)


def vm_facts(content: Any, guest_id: str) -> VmFacts:
    """Raises NotFound when vCenter no longer has the VM."""
    found = retrieve_objects(content, [vm_ref(content, guest_id)], {vim.VirtualMachine: VM_PATHS})
    if not found:
        raise NotFound(f"{visible(guest_id)} does not exist on this vCenter")
    vm = found[0]
    return VmFacts(
        ref=vm.ref, id=vm.moid, name=str(vm.get("name", vm.moid)), host=vm.get("runtime.host"),
        power=str(vm.get("runtime.powerState", "")),
        template=bool(vm.get("config.template", False)),
        datastores=frozenset(d._moId for d in vm.get("datastore", [])),
        snapshot=vm.get("snapshot"), folder=vm.get("parent"), pool=vm.get("resourcePool"))


def hosts(content: Any, view: Any) -> dict[str, HostPlace]:
    """Every host by name, with its datastores and its compute resource (one call)."""
    found = retrieve_view(content, view, {
        vim.HostSystem: ("name", "parent", "runtime.connectionState", "runtime.powerState",
                         "runtime.inMaintenanceMode", "datastore"),
        vim.Datastore: ("name",),
    })
    ds_names = {o.moid: str(o.get("name", o.moid)) for o in found
                if isinstance(o.ref, vim.Datastore)}
    out: dict[str, HostPlace] = {}
    for host in found:
        if not isinstance(host.ref, vim.HostSystem):
            continue
        stores = {ds_names.get(d._moId, d._moId): d for d in host.get("datastore", [])}
        facts = HostFacts(name=str(host.get("name", host.moid)),
                          connection=str(host.get("runtime.connectionState", "")),
                          power=str(host.get("runtime.powerState", "")),
                          maintenance=bool(host.get("runtime.inMaintenanceMode", False)),
                          datastores=frozenset(d._moId for d in stores.values()))
        out[facts.name] = HostPlace(host.ref, facts, host.get("parent"), stores)
    return out


def host_name(places: dict[str, HostPlace], ref: Any) -> str:
    """The name of the host `ref` (a vim.HostSystem), or its id if unknown."""
    moid = getattr(ref, "_moId", "")
    return next((name for name, p in places.items() if p.ref._moId == moid), moid)


def datastore_names(places: dict[str, HostPlace], moids: frozenset[str]) -> dict[str, str]:
    """The datastores with these ids, by id, with their names as the hosts mount them
    (the id where no host does)."""
    names = {ref._moId: name for p in places.values() for name, ref in p.datastore_refs.items()}
    return {m: names.get(m, m) for m in sorted(moids)}


def resource_pool(content: Any, compute: Any) -> Any:
    """The root resource pool of a host's cluster (or standalone compute resource)."""
    found = retrieve_objects(content, [compute], {vim.ComputeResource: ("resourcePool",)})
    pool = found[0].get("resourcePool") if found else None
    if pool is None:
        raise NotFound("the host's cluster has no resource pool")
    return pool


__all__ = ["HostPlace", "VmFacts", "datastore_names", "host_name", "hosts", "resource_pool",
           "vm_facts", "vm_ref"]
