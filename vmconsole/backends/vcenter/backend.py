"""The vCenter backend: the `Backend` protocol over vSphere's API (pyvmomi).

One poll is one PropertyCollector call over a ContainerView of the whole inventory.
Every operation is a vSphere task (`PowerOnVM_Task`, `CloneVM_Task`, `RelocateVM_Task`,
...) followed to its end with its progress; the few calls that vSphere answers at once
(`ShutdownGuest`, `MarkAsTemplate`) are followed as tasks of the console's own. Nodes are
ESXi hosts; a guest's id is its managed object id (vm-42). What vcsim can and cannot show
is listed in docs/vcenter.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pyVmomi import vim

from vmconsole.backends.base import (
    BackendError,
    Capabilities,
    CloneSpec,
    Conflict,
    HASettings,
    InvalidInput,
    MetricSample,
    MigrationMode,
    MigrationTarget,
    NotFound,
    NotSupported,
    Task,
    TaskStatus,
)
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.journal import EventJournal, TrackedTasks
from vmconsole.backends.vcenter import history, placement, snapshots, vsphere_ha
from vmconsole.backends.vcenter.connection import Session
from vmconsole.backends.vcenter.inventory import (
    CLUSTER_DEFAULT,
    PATHS,
    VIEW_TYPES,
    Reading,
    build,
    vm_restart_priority,
)
from vmconsole.backends.vcenter.migration import refusal, targets
from vmconsole.backends.vcenter.properties import container_view, retrieve_objects, retrieve_view
from vmconsole.backends.vcenter.tasks import TaskTracker
from vmconsole.config import VCenterCluster
from vmconsole.model import Inventory, RestartPriority, Snapshot
from vmconsole.text import visible

T = TypeVar("T")

CAPABILITIES = Capabilities(vmids=False, containers=False, templates=True, snapshots=True,
                            snapshot_ram=True, snapshot_quiesce=True, linked_clone=True,
                            live_migration=True, ha=True, ha_restart_priority=True,
                            history=True)
# How often a guest shutdown looks at the VM's power state (vSphere's ShutdownGuest
# returns at once; the guest OS powers off in its own time).
SHUTDOWN_POLL = 0.5


class VCenterBackend(TrackedTasks):
    """One vCenter Server: every host of every cluster is a node of one tree."""

    _tracker: TaskTracker

    def __init__(self, cfg: VCenterCluster) -> None:
        self.cfg = cfg
        self.session = Session(cfg)
        self._tracker = TaskTracker(self.session.call, cfg.user, self._task_ended)
        # The session's ServiceContent (one per login) with its ContainerView and the
        # PerformanceManager's counter keys: a new login needs new ones.
        self._view_of: tuple[Any, Any] | None = None
        self._counters_of: tuple[Any, dict[str, int]] | None = None
        self._views_lock = threading.Lock()
        self._last: Reading | None = None
        self._journal = EventJournal()
        if self.session.insecure:
            self._journal.warn_insecure_tls(cfg.name, "vCenter's")

    # --- identity -----------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def address(self) -> str:
        """The vSphere API endpoint (the SDK URL pyvmomi talks SOAP to)."""
        host = f"[{self.cfg.host}]" if ":" in self.cfg.host else self.cfg.host  # IPv6
        return f"https://{host}:{self.cfg.port}/sdk"

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    # --- polling ------------------------------------------------------------------------

    def inventory(self) -> Inventory:
        """Everything, in one PropertyCollector call. Raises Unreachable, AuthError."""
        try:
            objects = self._call("read the inventory",
                                 lambda c: retrieve_view(c, self._view(c), PATHS))
        except NotFound:
            # The server no longer has the session's view (it restarted under the same
            # session id, or an admin ended it): a new view, once.
            with self._views_lock:
                self._view_of = None
            objects = self._call("read the inventory",
                                 lambda c: retrieve_view(c, self._view(c), PATHS))
        reading = build(self.cfg.name, time.time(), objects)
        self._last = reading
        return reading.inventory

    def history(self, object_id: str, timeframe: str) -> list[MetricSample]:
        """Samples from the PerformanceManager for a host ("node/NAME") or a VM."""
        if timeframe not in history.TIMEFRAMES:
            raise InvalidInput(f"timeframe must be one of {', '.join(history.TIMEFRAMES)}",
                               {"timeframe": timeframe})

        def query(content: Any) -> list[MetricSample]:
            keys = self._counter_keys(content)
            if object_id.startswith("node/"):
                place = self._host(content, object_id.removeprefix("node/"))
                entity, maxmem = place.ref, self._maxmem(object_id)
            else:
                entity, maxmem = placement.vm_ref(content, object_id), self._maxmem(object_id)
            spec = history.query_spec(entity, keys, timeframe)
            return history.samples(content.perfManager.QueryPerf([spec]), keys, maxmem)

        return self._call(f"read the history of {object_id}", query)

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
        """`EnterMaintenanceMode_Task` / `ExitMaintenanceMode_Task` on host `node`. Entering
        waits, in vCenter, until no running VM is left on the host (DRS moves them when
        fully automated)."""
        def start(content: Any) -> Any:
            place = self._host(content, node)
            if place.facts.maintenance == enabled:
                state = "in" if enabled else "not in"
                raise Conflict(f"{visible(node)} is {state} maintenance mode already")
            if enabled:
                return place.ref.EnterMaintenanceMode_Task(timeout=0)
            return place.ref.ExitMaintenanceMode_Task(timeout=0)

        verb = "enter" if enabled else "exit"
        ref = self._call(f"{verb} maintenance mode on {node}", start)
        return self._tracker.follow(ref, f"maintenance_{verb}", f"node/{node}", node)

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

    def close(self) -> None:
        self._tracker.close()
        self.session.close()

    # --- helpers ------------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[Any], T]) -> T:
        return self.session.call(what, fn)

    def _view(self, content: Any) -> Any:
        """The ContainerView of this session, made once per login."""
        with self._views_lock:
            if self._view_of is None or self._view_of[0] is not content:
                self._view_of = (content, container_view(content, VIEW_TYPES))
            return self._view_of[1]

    def _counter_keys(self, content: Any) -> dict[str, int]:
        with self._views_lock:
            known = self._counters_of
        if known is not None and known[0] is content:
            return known[1]
        found = retrieve_objects(content, [content.perfManager],
                                 {vim.PerformanceManager: ("perfCounter",)})
        keys = history.counter_keys(found[0].get("perfCounter") if found else None)
        with self._views_lock:
            self._counters_of = (content, keys)
        return keys

    def _vm(self, guest_id: str) -> placement.VmFacts:
        return self._call(f"read {guest_id}", lambda c: placement.vm_facts(c, guest_id))

    def _host(self, content: Any, node: str) -> placement.HostPlace:
        place = placement.hosts(content, self._view(content)).get(node)
        if place is None:
            raise InvalidInput(f"no host {visible(node)} on this vCenter", {"node": "unknown host"})
        return place

    def _node_of(self, vm: placement.VmFacts) -> str:
        """The VM's host name as of the last poll (its id when unknown)."""
        moid = getattr(vm.host, "_moId", "")
        if self._last is not None:
            for name, ref in self._last.host_refs.items():
                if ref._moId == moid:
                    return name
        return moid

    def _maxmem(self, object_id: str) -> int:
        if self._last is None:
            return 0
        obj = self._last.inventory.objects().get(object_id)
        return obj.maxmem if obj is not None else 0

    def _follow(self, what: str, operation: str, vm: placement.VmFacts,
                start: Callable[[], Any], result: Mapping[str, object] | None = None) -> Task:
        ref = self._call(what, lambda _: start())
        return self._tracker.follow(ref, operation, vm.id, self._node_of(vm), result=result)

    def _task_ended(self, task: Task) -> None:
        """vMotions on the timeline."""
        if task.operation != "migrate":
            return
        target = task.result.get("target", "?")
        if task.status is TaskStatus.ERROR:
            self._journal.add(EventKind.MIGRATION_FAILED,
                              f"{task.target} did not move to {target}: "
                              f"{task.error}", node=task.node, guest=task.target)
        else:
            self._journal.add(EventKind.MIGRATED, f"{task.target} moved to {target} (vMotion)",
                              node=task.node, guest=task.target)


__all__ = ["CAPABILITIES", "VCenterBackend"]
