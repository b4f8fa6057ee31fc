"""`LibvirtBackend`: the `Backend` protocol over a list of libvirt hosts."""

from __future__ import annotations

import time
from collections.abc import Mapping

from vmconsole.backends.abilities import ClusterEvent
from vmconsole.backends.addresses import AddressBook, AddressReading
from vmconsole.backends.backups import Backup, BackupOptions, BackupSpec, RestoreSpec
from vmconsole.backends.base import (
    Capabilities,
    MetricSample,
    MigrationMode,
    MigrationTarget,
    NotFound,
    NotSupported,
    Task,
)
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.hardware import GuestHardware
from vmconsole.backends.libvirt import backups as backup_ops
from vmconsole.backends.libvirt import clone as clone_ops
from vmconsole.backends.libvirt import (
    console,
    hamanager,
    hardware,
    marks,
    migration,
    power,
    removal,
    restore_over,
)
from vmconsole.backends.libvirt import snapshots as snapshot_ops
from vmconsole.backends.libvirt.addresses import AGENT_WAIT_S, read_addresses
from vmconsole.backends.libvirt.cluster import ClusterCore
from vmconsole.backends.libvirt.eventloop import hold_event_loop, release_event_loop
from vmconsole.backends.libvirt.identity import parse_guest_id
from vmconsole.backends.removal import RemovalPlan
from vmconsole.backends.serial import ConsoleSink, ConsoleStream
from vmconsole.config import LibvirtCluster
from vmconsole.model import Guest, GuestAddress, Inventory
from vmconsole.model.snapshots import Snapshot

CAPABILITIES = Capabilities(vmids=False, containers=True, templates=True, snapshots=True,
                            snapshot_ram=True, linked_clone=True, live_migration=True,
                            ha=True, history=False, hardware=True,
                            serial_console=True, backups=True, destroy=True)


class LibvirtBackend(ClusterCore):
    """A cluster of libvirt hosts, one connection each. Besides `Backend` it offers
    `events(since)` (SupportsEvents: lifecycle, migration and host events) and
    `set_change_callback(cb)` (called when an event says the inventory changed)."""

    def __init__(self, cfg: LibvirtCluster) -> None:
        hold_event_loop()  # released by `close`: the last backend closed ends its thread
        self._holds_loop = True
        super().__init__(cfg)
        path = hamanager.status_path(cfg)
        self.ha_view = hamanager.ManagerView(path, self.log) if path is not None else None
        self.addresses = AddressBook(self._read_addresses, name=f"addresses-{cfg.name}")


    def inventory(self) -> Inventory:
        """The hosts' inventory (`ClusterCore.inventory`) with the addresses the address
        sweep has read (agent, then DHCP lease, then ARP: `libvirt.addresses`) and, when
        the cluster has an `ha` table, its HA manager's view over it
        (backends/libvirt/hamanager.py)."""
        inv = self.addresses.apply(super().inventory())
        return inv if self.ha_view is None else self.ha_view.overlay(inv, time.time())

    def ha_placements(self) -> Mapping[str, str]:
        """UUID -> node of each service in the HA manager's status, while it is fresh
        (`ClusterCore.ha_placements`: the recovered guest is listed once, there)."""
        status = self.ha_view.status() if self.ha_view is not None else None
        if status is None or status.stale(time.time()):
            return {}
        return {parse_guest_id(s.id)[0]: s.node for s in status.services}

    def address_readings(self) -> Mapping[str, AddressReading]:
        """The address sweep's readings (`ClusterCore.address_readings`)."""
        return self.addresses.readings()

    def guest_addresses(self, guest_id: str) -> AddressReading:
        """The guest's addresses read now (SupportsGuestAddresses). NotFound for a guest
        the last poll did not see."""
        guest = self.last_inventory.guest(guest_id)
        if guest is None:
            raise NotFound(f"{guest_id} is not in {self.cfg.name}'s last poll")
        return self.addresses.read_now(guest)

    def _read_addresses(self, guest: Guest) -> tuple[tuple[GuestAddress, ...], str | None]:
        host, dom = self.locate(guest.id)
        # Held like any call (no close under it), bounded beyond libvirt's own wait for
        # an agent, so that a hung agent is the guest's note, never its host lost.
        return host.call(lambda _c: read_addresses(dom), f"reading {guest.name}'s addresses",
                         timeout=max(self.cfg.timeout, AGENT_WAIT_S))

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def address(self) -> str:
        return ", ".join(self.cfg.uris)

    @property
    def probe_netns(self) -> str | None:
        return self.cfg.probe_netns

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    def history(self, object_id: str, timeframe: str) -> list[MetricSample]:
        raise NotSupported("libvirt keeps no history: the console's own samples are shown")

    def events(self, since: int = 0) -> list[ClusterEvent]:
        return self.log.since(since)

    def tasks(self) -> list[Task]:
        return self.tasks_book.all() + (self.ha_view.tasks() if self.ha_view else [])

    def task(self, task_id: str) -> Task:
        if self.ha_view is not None and task_id.startswith("ha-"):
            for task in self.ha_view.tasks():
                if task.id == task_id:
                    return task
        return self.tasks_book.get(task_id)

    # power
    def start(self, guest_id: str) -> Task:
        return power.start(self, guest_id)

    def shutdown(self, guest_id: str, timeout: float = 60.0) -> Task:
        return power.shutdown(self, guest_id, timeout)

    def stop(self, guest_id: str) -> Task:
        return power.stop(self, guest_id)

    def reboot(self, guest_id: str) -> Task:
        return power.reboot(self, guest_id)

    # deleting (SupportsDestroy, SupportsUndefine)
    def removal_plan(self, guest_id: str) -> RemovalPlan:
        return removal.plan(self, guest_id)

    def undefine(self, guest_id: str, remove_storage: bool) -> Task:
        return removal.undefine(self, guest_id, remove_storage)

    def destroy(self, guest_id: str) -> Task:
        """Undefine the guest and delete the disks that are its own alone."""
        return removal.undefine(self, guest_id, True)

    # templates and clones
    def next_vmid(self) -> int | None:
        return None

    def clone(self, guest_id: str, spec: CloneSpec) -> Task:
        return clone_ops.clone(self, guest_id, spec)

    def convert_to_template(self, guest_id: str) -> Task:
        return marks.convert_to_template(self, guest_id)

    # backups (SupportsBackups)
    def backup_options(self, guest_id: str) -> BackupOptions:
        return backup_ops.options(self, guest_id)

    def backups(self, guest_id: str) -> list[Backup]:
        return backup_ops.listing(self, guest_id)

    def backup(self, guest_id: str, spec: BackupSpec) -> Task:
        return backup_ops.backup(self, guest_id, spec)

    def backup_restore(self, guest_id: str, spec: RestoreSpec) -> Task:
        if spec.overwrite:
            return restore_over.over(self, guest_id, spec)
        return backup_ops.restore(self, guest_id, spec)

    def backup_delete(self, guest_id: str, backup_id: str) -> Task:
        return backup_ops.delete(self, guest_id, backup_id)

    # snapshots
    def snapshots(self, guest_id: str) -> list[Snapshot]:
        return snapshot_ops.snapshots(self, guest_id)

    def snapshot_create(self, guest_id: str, name: str, description: str = "",
                        vmstate: bool = False) -> Task:
        return snapshot_ops.create(self, guest_id, name, description, vmstate)

    def snapshot_rollback(self, guest_id: str, name: str) -> Task:
        return snapshot_ops.rollback(self, guest_id, name)

    def snapshot_delete(self, guest_id: str, name: str) -> Task:
        return snapshot_ops.delete(self, guest_id, name)

    # migration
    def migration_targets(self, guest_id: str) -> list[MigrationTarget]:
        return migration.migration_targets(self, guest_id)

    def migrate(self, guest_id: str, node: str, mode: MigrationMode,
                with_local_disks: bool = False) -> Task:
        return migration.migrate(self, guest_id, node, mode, with_local_disks)

    # high availability
    def ha_set(self, guest_id: str, settings: HASettings) -> Task:
        return marks.ha_set(self, guest_id, settings)

    def ha_remove(self, guest_id: str) -> Task:
        return marks.ha_remove(self, guest_id)

    # hardware (SupportsHardware)
    def hardware(self, guest_id: str) -> GuestHardware:
        return hardware.read(self, guest_id)

    def set_vcpus(self, guest_id: str, count: int) -> Task:
        return hardware.set_vcpus(self, guest_id, count)

    def set_memory(self, guest_id: str, size: int) -> Task:
        return hardware.set_memory(self, guest_id, size)

    def grow_disk(self, guest_id: str, disk: str, size: int) -> Task:
        return hardware.grow_disk(self, guest_id, disk, size)

    def set_link(self, guest_id: str, nic: str, up: bool) -> Task:
        return hardware.set_link(self, guest_id, nic, up)

    def close(self) -> None:
        """Close every connection and drop this backend's hold on libvirt's event loop
        (`eventloop.release_event_loop`). Closing twice does nothing more."""
        self.addresses.close()
        super().close()
        if self._holds_loop:
            self._holds_loop = False
            release_event_loop()

    def ha_groups(self) -> list[str]:
        groups = {g.ha.group for g in self.last_inventory.guests if g.ha and g.ha.group}
        return sorted(groups)

    # the serial console (SupportsSerialConsole)
    def open_console(self, guest_id: str, sink: ConsoleSink,
                     force: bool = False) -> ConsoleStream:
        return console.open_console(self, guest_id, sink, force)
