"""The vCenter backend: the `Backend` protocol over vSphere's API (pyvmomi).

Every operation is a vSphere task (`PowerOnVM_Task`, `CloneVM_Task`, `RelocateVM_Task`,
...) followed to its end with its progress; the few calls that vSphere answers at once
(`ShutdownGuest`, `MarkAsTemplate`) are followed as tasks of the console's own. The
session, the poll and the helpers are `core.VCenterCore`'s. What vcsim can and cannot
show is listed in docs/vcenter.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pyVmomi import vim

from vmconsole.backends.base import (
    BackendError,
    Capabilities,
    Conflict,
    InvalidInput,
    MigrationMode,
    MigrationTarget,
    NotSupported,
    Task,
)
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.vcenter import maintenance, placement, snapshots, vsphere_ha
from vmconsole.backends.vcenter.core import VCenterCore
from vmconsole.backends.vcenter.inventory import CLUSTER_DEFAULT, vm_restart_priority
from vmconsole.backends.vcenter.migration import refusal, targets
from vmconsole.backends.vcenter.properties import retrieve_objects, retrieve_view
from vmconsole.model import RestartPriority
from vmconsole.model.snapshots import Snapshot
from vmconsole.text import visible

CAPABILITIES = Capabilities(vmids=False, containers=False, templates=True, snapshots=True,
                            snapshot_ram=True, snapshot_quiesce=True, linked_clone=True,
                            live_migration=True, ha=True, ha_restart_priority=True,
                            history=True, destroy=True)
# How often a guest shutdown looks at the VM's power state (vSphere's ShutdownGuest
# returns at once; the guest OS powers off in its own time).
SHUTDOWN_POLL = 0.5
# VirtualMachinePowerState in words, for refusals.
POWER_WORDS = {"poweredOn": "powered on", "poweredOff": "powered off", "suspended": "suspended"}


class VCenterBackend(VCenterCore):
    """One vCenter Server: every host of every cluster is a node of one tree."""

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    # --- power --------------------------------------------------------------------------

    def start(self, guest_id: str) -> Task:
        vm = self._vm(guest_id)
        if vm.template:
            raise Conflict(f"{visible(vm.name)} is a template: deploy a VM from it instead")
        return self._follow(f"power on {guest_id}", "start", vm, lambda: vm.ref.PowerOnVM_Task())

    def stop(self, guest_id: str) -> Task:
        vm = self._vm(guest_id)
        return self._follow(f"power off {guest_id}", "stop", vm,
                            lambda: vm.ref.PowerOffVM_Task())

    def shutdown(self, guest_id: str, timeout: float = 60.0) -> Task:
        """VMware Tools' guest shutdown (`ShutdownGuest`, answered at once), then the
        VM's power state watched until it is off or `timeout` seconds have passed."""
        vm = self._vm(guest_id)
        self._call(f"shut down {guest_id}", lambda _: vm.ref.ShutdownGuest())

        def watch(report: Callable[[str, float | None], None]) -> dict[str, object]:
            report("guest OS asked to shut down (VMware Tools)", None)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self._vm(guest_id).power == "poweredOff":
                    return {}
                time.sleep(SHUTDOWN_POLL)
            raise BackendError(f"{visible(vm.name)} still runs {timeout:g} s after the "
                               "shutdown request")

        return self._tracker.local("shutdown", guest_id, self._node_of(vm), watch)

    def reboot(self, guest_id: str) -> Task:
        """VMware Tools' guest reboot (`RebootGuest`): vSphere answers once the guest OS
        was asked; vcsim does not implement it (NotSupported)."""
        vm = self._vm(guest_id)
        self._call(f"reboot {guest_id}", lambda _: vm.ref.RebootGuest())

        def asked(report: Callable[[str, float | None], None]) -> dict[str, object]:
            report("guest OS asked to restart (VMware Tools)", 1.0)
            return {}

        return self._tracker.local("reboot", guest_id, self._node_of(vm), asked)

    # --- templates and clones -----------------------------------------------------------

    def next_vmid(self) -> None:
        """vSphere VMs have no numeric ids that a user chooses."""
        return None

    def clone(self, guest_id: str, spec: CloneSpec) -> Task:
        """`CloneVM_Task` into the source's folder, on `spec.node`'s cluster. A linked
        clone (spec.full False) shares the disks of a snapshot: `spec.snapshot`, else the
        source's current one (vSphere: diskMoveType createNewChildDiskBacking)."""
        vm = self._vm(guest_id)

        def start(content: Any) -> Any:
            names = {str(o.get("name")) for o in retrieve_view(
                content, self._view(content), {vim.VirtualMachine: ("name",)})}
            if spec.name in names:
                raise InvalidInput(f"a VM named {visible(spec.name)} exists already",
                                   {"name": "this name is taken"})
            place = self._host(content, spec.node)
            location = vim.vm.RelocateSpec(host=place.ref,
                                           pool=placement.resource_pool(content, place.compute))
            if spec.storage:
                store = place.datastore_refs.get(spec.storage)
                if store is None:
                    raise InvalidInput(f"{visible(spec.node)} has no datastore "
                                       f"{visible(spec.storage)}", {"storage": "not on this host"})
                location.datastore = store
            snapshot = (snapshots.find(vm.snapshot, spec.snapshot) if spec.snapshot
                        else None)
            if not spec.full:
                snapshot = snapshot or snapshots.current(vm.snapshot)
                if snapshot is None:
                    raise InvalidInput("a linked clone shares a snapshot's disks: take a "
                                       "snapshot first", {"full": "needs a snapshot"})
                location.diskMoveType = "createNewChildDiskBacking"
            clone_spec = vim.vm.CloneSpec(location=location, powerOn=False, template=False,
                                          snapshot=snapshot)
            return vm.ref.CloneVM_Task(folder=vm.folder, name=spec.name, spec=clone_spec)

        ref = self._call(f"clone {guest_id}", start)
        return self._tracker.follow(ref, "clone", guest_id, self._node_of(vm),
                                    result={"name": spec.name, "target": spec.node},
                                    on_success=lambda new: {"new_id": str(new._moId)})

    def convert_to_template(self, guest_id: str) -> Task:
        """`MarkAsTemplate` (answered at once): the VM must be powered off."""
        vm = self._vm(guest_id)
        if vm.template:
            raise Conflict(f"{visible(vm.name)} is a template already")
        if vm.power != "poweredOff":
            raise Conflict(f"{visible(vm.name)} is {vm.power}: power it off first")

        def mark(report: Callable[[str, float | None], None]) -> dict[str, object]:
            self._call(f"mark {guest_id} as a template", lambda _: vm.ref.MarkAsTemplate())
            report("marked as a template", 1.0)
            return {}

        return self._tracker.local("template", guest_id, self._node_of(vm), mark)

    def convert_to_vm(self, guest_id: str, node: str) -> Task:
        """A template back to a VM (`MarkAsVirtualMachine`) on host `node`, in the root
        resource pool of the host's cluster."""
        vm = self._vm(guest_id)
        if not vm.template:
            raise Conflict(f"{visible(vm.name)} is not a template")

        def mark(report: Callable[[str, float | None], None]) -> dict[str, object]:
            def call(content: Any) -> None:
                place = self._host(content, node)
                pool = placement.resource_pool(content, place.compute)
                vm.ref.MarkAsVirtualMachine(pool=pool, host=place.ref)

            self._call(f"mark {guest_id} as a VM", call)
            report(f"marked as a VM on {visible(node)}", 1.0)
            return {}

        return self._tracker.local("template_to_vm", guest_id, node, mark)

    # --- delete -----------------------------------------------------------------------

    def destroy(self, guest_id: str) -> Task:
        """`Destroy_Task` (backends/removal.py): vCenter removes the VM or template from
        its inventory and deletes its files, every virtual disk it owns among them
        (vSphere API reference, ManagedEntity.Destroy_Task). As Proxmox refuses a running
        guest, a VM that is not powered off is refused (Conflict) with its power state,
        never powered off for the user; vSphere HA does not stand in the way (it stops
        protecting a VM that is gone). Raises NotFound when vCenter no longer has it."""
        vm = self._vm(guest_id)
        if vm.power != "poweredOff":
            raise Conflict(f"{visible(vm.name)} is {POWER_WORDS.get(vm.power, vm.power)}: "
                           "power it off first")
        return self._follow(f"delete {guest_id}", "destroy", vm,
                            lambda: vm.ref.Destroy_Task(), result={"name": visible(vm.name)})

    # --- snapshots ----------------------------------------------------------------------

    def snapshots(self, guest_id: str) -> list[Snapshot]:
        return snapshots.listing(self._vm(guest_id).snapshot)

    def snapshot_create(self, guest_id: str, name: str, description: str = "",
                        vmstate: bool = False, quiesce: bool = False) -> Task:
        """`CreateSnapshot_Task`: with the VM's memory (`vmstate`, a running VM only), or
        with the guest's file systems quiesced by VMware Tools (`quiesce`)."""
        vm = self._vm(guest_id)
        if vmstate and vm.power != "poweredOn":
            raise InvalidInput("only a running VM has memory to save",
                               {"vmstate": "the VM is not running"})
        return self._follow(f"snapshot {guest_id}", "snapshot", vm,
                            lambda: vm.ref.CreateSnapshot_Task(name=name,
                                                               description=description,
                                                               memory=vmstate, quiesce=quiesce),
                            result={"snapshot": name})

    def snapshot_rollback(self, guest_id: str, name: str) -> Task:
        vm = self._vm(guest_id)
        snap = snapshots.find(vm.snapshot, name)
        return self._follow(f"revert {guest_id}", "rollback", vm,
                            lambda: snap.RevertToSnapshot_Task(), result={"snapshot": name})

    def snapshot_delete(self, guest_id: str, name: str) -> Task:
        vm = self._vm(guest_id)
        snap = snapshots.find(vm.snapshot, name)
        return self._follow(f"remove snapshot of {guest_id}", "snapshot_delete", vm,
                            lambda: snap.RemoveSnapshot_Task(removeChildren=False),
                            result={"snapshot": name})

    # --- vMotion ------------------------------------------------------------------------

    def migration_targets(self, guest_id: str) -> list[MigrationTarget]:
        def check(content: Any) -> list[MigrationTarget]:
            vm = placement.vm_facts(content, guest_id)
            places = placement.hosts(content, self._view(content))
            return targets(placement.host_name(places, vm.host),
                           placement.datastore_names(places, vm.datastores),
                           [p.facts for p in places.values()])

        return self._call(f"check where {guest_id} may go", check)

    def migrate(self, guest_id: str, node: str, mode: MigrationMode,
                with_local_disks: bool = False) -> Task:
        """vMotion (`RelocateVM_Task`) to host `node`: live for a running VM, cold for a
        stopped one. Refused first, with the reason, where `migration_targets` says no."""
        if mode is MigrationMode.RESTART:
            raise InvalidInput("a VM moves by vMotion, live or cold, not by restart",
                               {"mode": "live or offline"})
        if with_local_disks:
            raise NotSupported("moving disks (Storage vMotion) is not offered: the VM moves "
                               "to a host that mounts its datastores")

        def start(content: Any) -> tuple[Any, str]:
            vm = placement.vm_facts(content, guest_id)
            places = placement.hosts(content, self._view(content))
            current = placement.host_name(places, vm.host)
            place = places.get(node)
            if place is None:
                raise InvalidInput(f"no host {visible(node)} on this vCenter",
                                   {"node": "unknown host"})
            why = refusal(place.facts, current,
                          placement.datastore_names(places, vm.datastores))
            if why:
                raise Conflict(f"{visible(vm.name)} cannot move to {visible(node)}: {why}")
            spec = vim.vm.RelocateSpec(host=place.ref)
            if getattr(place.compute, "_moId", None) != getattr(
                    places[current].compute if current in places else None, "_moId", None):
                spec.pool = placement.resource_pool(content, place.compute)
            priority = ("highPriority" if mode is MigrationMode.LIVE else "defaultPriority")
            return vm.ref.RelocateVM_Task(spec=spec, priority=priority), current

        ref, current = self._call(f"vMotion {guest_id}", start)
        return self._tracker.follow(ref, "migrate", guest_id, current,
                                    result={"target": node, "mode": mode.value})

    # --- hosts --------------------------------------------------------------------------

    def set_host_maintenance(self, node: str, enabled: bool) -> Task:
        """`EnterMaintenanceMode_Task` / `ExitMaintenanceMode_Task` on host `node`, without a
        timeout. Entering waits, in vCenter, until no running VM is left on the host (DRS
        moves them when fully automated: `host_evacuation`); `evacuatePoweredOffVms` is
        set where DRS is on (`maintenance.evacuation` says why). Raises Conflict when the
        host is in that state already, InvalidInput for an unknown host."""
        def start(content: Any) -> Any:
            place = self._host(content, node)
            if place.facts.maintenance == enabled:
                state = "in" if enabled else "not in"
                raise Conflict(f"{visible(node)} is {state} maintenance mode already")
            if enabled:
                evacuate = self._evacuation(content, place).powered_off
                return place.ref.EnterMaintenanceMode_Task(timeout=0,
                                                           evacuatePoweredOffVms=evacuate)
            return place.ref.ExitMaintenanceMode_Task(timeout=0)

        verb = "enter" if enabled else "exit"
        ref = self._call(f"{verb} maintenance mode on {node}", start)
        return self._tracker.follow(ref, f"maintenance_{verb}", f"node/{node}", node)

    def host_evacuation(self, node: str) -> str | None:
        """Who moves the running VMs off host `node` when it enters maintenance mode:
        "DRS (fully automated)" where its cluster has DRS fully automated; None where the
        console's plan must move them first. Raises InvalidInput for an unknown host."""
        return self._call(f"read the DRS settings of {node}",
                          lambda c: self._evacuation(c, self._host(c, node)).mover)

    def _evacuation(self, content: Any, place: placement.HostPlace) -> maintenance.Evacuation:
        config = None
        if isinstance(place.compute, vim.ClusterComputeResource):
            found = retrieve_objects(content, [place.compute],
                                     {vim.ClusterComputeResource: ("configurationEx",)})
            config = found[0].get("configurationEx") if found else None
        return maintenance.evacuation(config)

    # --- vSphere HA ---------------------------------------------------------------------

    def ha_groups(self) -> list[str]:
        """None: vSphere HA has no groups (its VM-host rules are DRS's, not set here)."""
        return []

    def ha_set(self, guest_id: str, settings: HASettings) -> Task:
        """The VM's HA restart priority, an override in its cluster's `dasVmConfig`
        (`ReconfigureComputeResource_Task`): `settings.restart_priority`, None for the
        cluster's default; "disabled" leaves the VM down after a host failure. The
        Proxmox settings (a request other than started, a group, nodes, restart counts)
        are refused with the reason: vSphere HA has none of them."""
        wrong = vsphere_ha.refusals(settings)
        if wrong:
            raise InvalidInput("vSphere HA sets a VM's restart priority only: "
                               + "; ".join(f"{k}: {v}" for k, v in wrong.items()), wrong)
        return self._reconfigure_vm_ha(guest_id, "ha_set", settings.restart_priority)

    def ha_remove(self, guest_id: str) -> Task:
        """Drop the VM's own restart priority: it follows the cluster's default again."""
        return self._reconfigure_vm_ha(guest_id, "ha_remove", None)

    def _reconfigure_vm_ha(self, guest_id: str, operation: str,
                           priority: RestartPriority | None) -> Task:
        vm = self._vm(guest_id)
        if vm.template:
            raise Conflict(f"{visible(vm.name)} is a template: vSphere HA restarts VMs only")

        def start(content: Any) -> Any:
            places = placement.hosts(content, self._view(content))
            compute = places[placement.host_name(places, vm.host)].compute
            if not isinstance(compute, vim.ClusterComputeResource):
                raise Conflict(f"{visible(vm.name)} runs on a standalone host: vSphere HA "
                               "works in a cluster")
            found = retrieve_objects(content, [compute],
                                     {vim.ClusterComputeResource: ("configurationEx",)})
            config = found[0].get("configurationEx") if found else None
            listed = any(e.key._moId == guest_id
                         for e in getattr(config, "dasVmConfig", None) or ())
            if priority is None and not vm_restart_priority(guest_id, config)[1]:
                raise Conflict(f"{visible(vm.name)} has no restart priority of its own: it "
                               "follows the cluster's default already")
            spec = vsphere_ha.override_spec(vm.ref, listed, priority)
            return compute.ReconfigureComputeResource_Task(spec=spec, modify=True)

        ref = self._call(f"set the HA restart priority of {guest_id}", start)
        return self._tracker.follow(ref, operation, guest_id, self._node_of(vm),
                                    result={"restart_priority": str(priority or CLUSTER_DEFAULT)})


__all__ = ["CAPABILITIES", "VCenterBackend"]
