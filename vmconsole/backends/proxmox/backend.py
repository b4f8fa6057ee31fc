"""The Proxmox VE backend: the `Backend` protocol over PVE's HTTPS API.

Every action is one API request that starts a PVE worker and answers its UPID; the
returned `Task` is then followed in a background thread (tasks.py). HA changes are
synchronous in PVE and come back as a task that has already ended.
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

from vmconsole.backends.addresses import AddressBook, AddressReading
from vmconsole.backends.backups import Backup, BackupOptions, BackupSpec, RestoreSpec
from vmconsole.backends.base import (
    AuthError,
    Capabilities,
    InvalidInput,
    MetricSample,
    MigrationMode,
    MigrationTarget,
    NotFound,
    NotSupported,
    Task,
    TaskStatus,
)
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.hardware import GuestHardware, HardwareChange
from vmconsole.backends.journal import EventJournal, TrackedTasks
from vmconsole.backends.proxmox import answers, backups, ha, hardware, placement
from vmconsole.backends.proxmox.addresses import read_addresses
from vmconsole.backends.proxmox.connection import Connection
from vmconsole.backends.proxmox.guest_ref import GuestRef, locate
from vmconsole.backends.proxmox.history import RRD_ROWS, TIMEFRAMES, samples
from vmconsole.backends.proxmox.inventory import (
    EVERY_RESOURCE,
    HA_MANAGER,
    HA_RESOURCES,
    HA_STATUS,
    RESOURCES,
    STATUS,
    RateTracker,
    build_inventory,
    ha_view,
)
from vmconsole.backends.proxmox.migration import PRECONDITIONS, migration_targets
from vmconsole.backends.proxmox.tasks import TaskTracker, ask_upid
from vmconsole.backends.proxmox.termproxy import TermProxyConsole
from vmconsole.backends.proxmox.termproxy import open_console as open_termproxy
from vmconsole.backends.proxmox.timeline import inventory_events, migration_event
from vmconsole.backends.serial import ConsoleSink
from vmconsole.balance import Rules
from vmconsole.config import ProxmoxCluster
from vmconsole.model import GuestKind, Inventory
from vmconsole.model.snapshots import Snapshot

log = logging.getLogger(__name__)

# GET /version's answer, e.g. {"release": "8.2", "version": "8.2.4", ...}.
VERSION = answers.Record({"release": answers.TEXT})
# GET /cluster/nextid: the id as a string, "104".
NEXT_ID = answers.Value(answers.VMID, "a VMID")
# GET .../snapshot: each snapshot, and "current" (the guest now) whose parent is the
# snapshot it runs from.
SNAPSHOTS = answers.Records({"name": answers.TEXT, "parent": answers.TEXT,
                             "description": answers.TEXT, "snaptime": answers.NUMBER,
                             "vmstate": answers.INTEGER}, required={"*": ("name",)})

CAPABILITIES = Capabilities(vmids=True, containers=True, templates=True, snapshots=True,
                            snapshot_ram=True, linked_clone=True, live_migration=True,
                            ha=True, history=True, hardware=True,
                            serial_console=True, backups=True, destroy=True)


class ProxmoxBackend(TrackedTasks):
    """One PVE cluster, reached through one of its nodes' API."""

    _tracker: TaskTracker

    def __init__(self, cfg: ProxmoxCluster) -> None:
        self.cfg = cfg
        self.conn = Connection(cfg)
        self._rates = RateTracker()
        self._tracker = TaskTracker(self.conn.call, self._task_target, self._task_ended)
        self._version: tuple[int, int] | None = None
        self._journal = EventJournal()
        self._last: Inventory | None = None
        self._local_tasks = itertools.count(1)
        self._refused: set[str] = set()
        self._addresses = AddressBook(lambda guest: read_addresses(self.conn.call, guest),
                                      name=f"addresses-{cfg.name}")
        if self.conn.insecure:
            self._journal.warn_insecure_tls(cfg.name, "the API's")

    # --- identity -------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def address(self) -> str:
        return self.conn.base_url

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    def version(self) -> tuple[int, int]:
        """PVE's release (major, minor), asked once."""
        if self._version is None:
            answer = answers.read(self.conn.call, "/version", VERSION)
            release = str(answer.get("release") or "0.0")
            major, _, minor = release.partition(".")
            self._version = (int(major or 0), int(minor.split("-")[0] or 0))
        return self._version

    # --- polling --------------------------------------------------------------------

    def inventory(self) -> Inventory:
        resources = answers.read(self.conn.call, "/cluster/resources", EVERY_RESOURCE)
        status = self._audited("/cluster/status", STATUS, "quorum and node membership")
        ha_status = self._audited("/cluster/ha/status/current", HA_STATUS,
                                  "HA manager status")
        managed = any(r.get("hastate") for r in resources)
        ha_resources = self._audited("/cluster/ha/resources", HA_RESOURCES,
                                     "HA settings") if managed else []
        ha_manager = self._audited("/cluster/ha/status/manager_status", HA_MANAGER,
                                   "HA node states") if managed else None
        inventory = build_inventory(self.cfg.name, time.time(), resources, status,
                                    ha_view(ha_status, ha_resources, ha_manager),
                                    self._rates)
        inventory = self._addresses.apply(inventory)
        inventory_events(self._journal, self.cfg.name, self._last, inventory)
        self._last = inventory
        return inventory

    def guest_addresses(self, guest_id: str) -> AddressReading:
        """The guest's addresses read now (SupportsGuestAddresses): its config, then its
        agent or container interfaces (`proxmox.addresses`). NotFound for a guest the
        last poll did not see."""
        guest = self._last.guest(guest_id) if self._last is not None else None
        if guest is None:
            raise NotFound(f"{guest_id} is not in {self.cfg.name}'s last poll")
        return self._addresses.read_now(guest)

    def _audited(self, path: str, shape: answers.Record | answers.Records, what: str
                 ) -> Any:
        """A reading that needs Sys.Audit on / (`answers.read` against `shape`). Without
        it the tree still shows what /cluster/resources says (each guest's HA state
        included), and the console says once what is missing instead of failing every
        poll: the reading is then empty."""
        try:
            return answers.read(self.conn.call, path, shape)
        except AuthError as exc:
            if path not in self._refused:
                self._refused.add(path)
                self._journal.add(EventKind.NOT_PERMITTED, f"{what} not shown: {exc.message}")
            return [] if isinstance(shape, answers.Records) else {}

    def history(self, object_id: str, timeframe: str) -> list[MetricSample]:
        if timeframe not in TIMEFRAMES:
            raise InvalidInput(f"timeframe must be one of {', '.join(TIMEFRAMES)}",
                               {"timeframe": timeframe})
        if object_id.startswith("node/"):
            path = f"/nodes/{object_id.removeprefix('node/')}/rrddata"
        else:
            path = f"{self._locate(object_id).path}/rrddata"
        return samples(answers.read(self.conn.call, path, RRD_ROWS, timeframe=timeframe,
                                    cf="AVERAGE"))

    # --- power ----------------------------------------------------------------------

    def start(self, guest_id: str) -> Task:
        return self._power(guest_id, "start")

    def shutdown(self, guest_id: str, timeout: float = 60.0) -> Task:
        return self._power(guest_id, "shutdown", timeout=int(timeout))

    def stop(self, guest_id: str) -> Task:
        return self._power(guest_id, "stop")

    def reboot(self, guest_id: str) -> Task:
        return self._power(guest_id, "reboot")

    def _power(self, guest_id: str, action: str, **params: Any) -> Task:
        ref = self._locate(guest_id)
        upid = ask_upid(self.conn.call, "POST", f"{ref.path}/status/{action}", **params)
        return self._tracker.start(upid, action, ref.id)

    # --- templates and clones -------------------------------------------------------

    def next_vmid(self) -> int:
        return int(answers.read(self.conn.call, "/cluster/nextid", NEXT_ID))

    def clone(self, guest_id: str, spec: CloneSpec) -> Task:
        ref = self._locate(guest_id)
        newid = spec.vmid if spec.vmid is not None else self.next_vmid()
        params: dict[str, Any] = {
            "newid": newid,
            "name" if ref.kind is GuestKind.VM else "hostname": spec.name,
            "full": spec.full,
            "snapname": spec.snapshot,
            "description": spec.description or None,
            "target": spec.node if spec.node != ref.node else None,
            # PVE refuses a storage for a linked clone: it stays on the template's storage.
            "storage": spec.storage if spec.full else None,
        }
        upid = ask_upid(self.conn.call, "POST", f"{ref.path}/clone", **params)
        return self._tracker.start(upid, "clone", ref.id,
                                   result={"new_id": f"{ref.kind.value}/{newid}"})

    def convert_to_template(self, guest_id: str) -> Task:
        ref = self._locate(guest_id)
        upid = ask_upid(self.conn.call, "POST", f"{ref.path}/template")
        return self._tracker.start(upid, "template", ref.id)

    def destroy(self, guest_id: str) -> Task:
        """`DELETE /nodes/{node}/qemu|lxc/{vmid}` (backends/removal.py), without purge."""
        ref = self._locate(guest_id)
        upid = ask_upid(self.conn.call, "DELETE", ref.path)
        return self._tracker.start(upid, "destroy", ref.id)

    # --- snapshots ------------------------------------------------------------------

    def snapshots(self, guest_id: str) -> list[Snapshot]:
        ref = self._locate(guest_id)
        listing = answers.read(self.conn.call, f"{ref.path}/snapshot", SNAPSHOTS)
        here: dict[str, Any] = next((s for s in listing if s.get("name") == "current"), {})
        return [Snapshot(name=str(s["name"]), parent=s.get("parent") or None,
                         created=float(s["snaptime"]) if s.get("snaptime") else None,
                         description=str(s.get("description") or "").strip(),
                         vmstate=bool(int(s.get("vmstate") or 0)),
                         current=s["name"] == here.get("parent"))
                for s in listing if s.get("name") != "current"]

    def snapshot_create(self, guest_id: str, name: str, description: str = "",
                        vmstate: bool = False) -> Task:
        ref = self._locate(guest_id)
        if vmstate and ref.kind is GuestKind.CT:
            raise NotSupported("containers cannot save their RAM in a snapshot")
        upid = ask_upid(self.conn.call, "POST", f"{ref.path}/snapshot", snapname=name,
                        description=description or None,
                        vmstate=vmstate if ref.kind is GuestKind.VM else None)
        return self._tracker.start(upid, "snapshot", ref.id, result={"snapshot": name})

    def snapshot_rollback(self, guest_id: str, name: str) -> Task:
        ref = self._locate(guest_id)
        upid = ask_upid(self.conn.call, "POST", f"{ref.path}/snapshot/{name}/rollback")
        return self._tracker.start(upid, "rollback", ref.id, result={"snapshot": name})

    def snapshot_delete(self, guest_id: str, name: str) -> Task:
        ref = self._locate(guest_id)
        upid = ask_upid(self.conn.call, "DELETE", f"{ref.path}/snapshot/{name}")
        return self._tracker.start(upid, "snapshot_delete", ref.id, result={"snapshot": name})

    # --- migration ------------------------------------------------------------------

    def migration_targets(self, guest_id: str) -> list[MigrationTarget]:
        ref = self._locate(guest_id)
        answer = answers.read(self.conn.call, f"{ref.path}/migrate", PRECONDITIONS)
        nodes = answers.read(self.conn.call, "/cluster/resources", RESOURCES, type="node")
        online = {str(n["node"]): n.get("status") == "online" for n in nodes
                  if n.get("type") == "node"}
        return migration_targets(ref.kind, answer, ref.node, online)

    def migrate(self, guest_id: str, node: str, mode: MigrationMode,
                with_local_disks: bool = False) -> Task:
        ref = self._locate(guest_id)
        params: dict[str, Any] = {"target": node}
        if ref.kind is GuestKind.VM:
            if mode is MigrationMode.RESTART:
                raise InvalidInput("a VM migrates live or offline, not by restart",
                                   {"mode": "live or offline"})
            params["online"] = mode is MigrationMode.LIVE
            params["with-local-disks"] = with_local_disks or None
        else:
            if mode is MigrationMode.LIVE:
                raise NotSupported("containers cannot migrate live: use restart mode "
                                   "(stop, move, start)")
            params["restart"] = mode is MigrationMode.RESTART or None
        upid = ask_upid(self.conn.call, "POST", f"{ref.path}/migrate", **params)
        return self._tracker.start(upid, "migrate", ref.id,
                                   result={"target": node, "mode": mode.value})

    def placement_rules(self) -> Rules:
        """HA rules or groups and the CRS's auto-rebalance (`proxmox.placement`), for
        the guests of the last poll (polled now if there was none)."""
        inventory = self._last if self._last is not None else self.inventory()
        return placement.placement_rules(self.conn.call, inventory, self._ha_rules())

    # --- high availability ----------------------------------------------------------

    def ha_groups(self) -> list[str]:
        return ha.groups(self.conn.call, rules=self._ha_rules())

    def ha_set(self, guest_id: str, settings: HASettings) -> Task:
        ref = self._locate(guest_id)
        lines = ha.apply(self.conn.call, ref.sid, settings, rules=self._ha_rules(),
                         exists=ref.ha_managed)
        return self._done("ha_set", ref, lines)

    def ha_remove(self, guest_id: str) -> Task:
        ref = self._locate(guest_id)
        # purge: PVE also takes the resource out of every group and rule naming it.
        self.conn.call("DELETE", f"/cluster/ha/resources/{ref.sid}", purge=True)
        return self._done("ha_remove", ref, [f"removed HA resource {ref.sid}"])

    # --- backups (SupportsBackups) --------------------------------------------------

    def backup_options(self, guest_id: str) -> BackupOptions:
        return backups.options(self, self._locate(guest_id))

    def backups(self, guest_id: str) -> list[Backup]:
        return backups.listing(self, self._locate(guest_id))

    def backup(self, guest_id: str, spec: BackupSpec) -> Task:
        return backups.backup(self, self._locate(guest_id), spec)

    def backup_restore(self, guest_id: str, spec: RestoreSpec) -> Task:
        return backups.restore(self, self._locate(guest_id), spec)

    def backup_delete(self, guest_id: str, backup_id: str) -> Task:
        return backups.delete(self, self._locate(guest_id), backup_id)

    # --- hardware (SupportsHardware) ---------------------------------------------------

    def hardware(self, guest_id: str) -> GuestHardware:
        return hardware.read(self, self._locate(guest_id))

    def set_vcpus(self, guest_id: str, count: int) -> Task:
        return hardware.apply(self, self._locate(guest_id), "vcpus", HardwareChange(vcpus=count))

    def set_memory(self, guest_id: str, size: int) -> Task:
        return hardware.apply(self, self._locate(guest_id), "memory",
                              HardwareChange(memory=size))

    def grow_disk(self, guest_id: str, disk: str, size: int) -> Task:
        return hardware.apply(self, self._locate(guest_id), "resize",
                              HardwareChange(disks={disk: size}))

    def set_link(self, guest_id: str, nic: str, up: bool) -> Task:
        return hardware.apply(self, self._locate(guest_id), "link",
                              HardwareChange(links={nic: up}))

    def _ha_rules(self) -> bool:
        """PVE 9 replaced HA groups with node-affinity rules."""
        return self.version() >= (9, 0)

    def close(self) -> None:
        self._addresses.close()
        self._tracker.close()
        self.conn.close()

    # --- helpers --------------------------------------------------------------------

    def _locate(self, guest_id: str) -> GuestRef:
        return locate(self.conn.call, self.cfg.name, guest_id)

    # --- the serial console (SupportsSerialConsole) ---------------------------------

    def open_console(self, guest_id: str, sink: ConsoleSink,
                     force: bool = False) -> TermProxyConsole:
        """termproxy onto a VM's `serial0: socket` or a container's console. `force`
        changes nothing: each termproxy ticket opens a proxy of its own."""
        ref = self._locate(guest_id)
        known = self._last.guest(guest_id) if self._last else None
        return open_termproxy(self.conn, ref.path, ref.kind, ref.vmid,
                              known.name if known else guest_id, sink)

    def _task_target(self, kind: str, ident: str) -> str:
        """The object a task from `/cluster/tasks` acted on."""
        if kind.startswith("qm"):
            return f"qemu/{ident}"
        if kind.startswith("vz") and kind != "vzdump":
            return f"lxc/{ident}"
        if ident.isdigit() and self._last is not None:
            match = next((g for g in self._last.guests if g.vmid == int(ident)), None)
            if match is not None:
                return match.id
        return ident

    def _task_ended(self, task: Task) -> None:
        migration_event(self._journal, task)

    def _done(self, operation: str, ref: GuestRef, lines: list[str]) -> Task:
        """A synchronous change, recorded as a task that already ended."""
        now = time.time()
        task = Task(id=f"vmconsole:{operation}:{next(self._local_tasks)}", operation=operation,
                    target=ref.id, node=ref.node, user=self.conn.token_user or self.cfg.user,
                    started=now, status=TaskStatus.OK, ended=now, progress=1.0,
                    log=tuple(lines))
        self._tracker.record(task)
        return task
