"""Answers a real PVE gives that fakepve only sketches from the schema (its qemu migrate
precheck and rrddata are placeholders): the mapping of PVE's documented shapes."""

from __future__ import annotations

from proxmoxer.core import ResourceException

from vmconsole.backends.base import Conflict, InvalidInput, NotFound, Unreachable
from vmconsole.backends.proxmox.errors import ErrorBody, from_resource_exception
from vmconsole.backends.proxmox.history import samples
from vmconsole.backends.proxmox.migration import migration_targets
from vmconsole.model import GuestKind

ONLINE = {"pve1": True, "pve2": True, "pve3": True, "pve4": False}


def test_stopped_vm_precheck_names_each_refusal():
    # GET /nodes/pve1/qemu/101/migrate of a stopped VM with a disk on local-zfs.
    answer = {
        "running": 0,
        "allowed_nodes": ["pve2"],
        "not_allowed_nodes": {"pve3": {"unavailable_storages": ["local-zfs"]}},
        "local_disks": [{"volid": "local-zfs:vm-101-disk-0", "size": 34359738368,
                         "cdrom": 0, "is_unused": 0},
                        {"volid": "local-zfs:vm-101-disk-1", "size": 1, "cdrom": 0,
                         "is_unused": 1}],
        "local_resources": [],
    }
    targets = {t.node: t for t in migration_targets(GuestKind.VM, answer, "pve1", ONLINE)}
    assert targets["pve1"].reason == "the guest is on this node"
    assert targets["pve2"].allowed
    assert targets["pve2"].local_disks == ("local-zfs:vm-101-disk-0",)
    assert targets["pve3"].reason == "storage not available there: local-zfs"
    assert targets["pve4"].reason == "node offline"


def test_running_vm_with_a_passed_through_device_cannot_move_live():
    answer = {"running": 1, "local_disks": [], "local_resources": ["hostpci0"]}
    targets = migration_targets(GuestKind.VM, answer, "pve1", ONLINE)
    assert [(t.node, t.allowed) for t in targets] == [
        ("pve1", False), ("pve2", False), ("pve3", False), ("pve4", False)]
    assert targets[1].reason == "local resources cannot move live: hostpci0"


def test_pve9_ha_node_affinity_blocks_a_target():
    answer = {"running": 1, "allowed-nodes": ["pve2"], "not-allowed-nodes": {
        "pve3": {"blocking-ha-resources": [{"sid": "ct:200", "cause": "node-affinity"}]}}}
    targets = {t.node: t for t in migration_targets(GuestKind.CT, answer, "pve1", ONLINE)}
    assert targets["pve2"].allowed
    assert targets["pve3"].reason == "HA node-affinity of ct:200"


def test_rrddata_rows_become_samples_and_gaps_are_skipped():
    rows = [
        {"time": 1714644060, "cpu": 0.0123, "maxcpu": 2, "mem": 536870912,
         "maxmem": 2147483648, "netin": 1024.5, "netout": 2048.25, "diskread": 0,
         "diskwrite": 4096},
        {"time": 1714644000, "memused": 3e9, "memtotal": 8e9, "cpu": 0.5},
        {},
    ]
    got = samples(rows)
    assert [s.time for s in got] == [1714644000, 1714644060]
    assert (got[0].mem, got[0].maxmem, got[0].net_in) == (3_000_000_000, 8_000_000_000, 0.0)
    assert (got[1].cpu, got[1].net_out, got[1].disk_write) == (0.0123, 2048.25, 4096)


def refused(status, reason, errors=None):
    return from_resource_exception(ResourceException(status, "", reason,
                                                     ErrorBody(fields=errors or {})), None,
                                   "POST", "/nodes/pve1/qemu/100/status/start")


def test_pve_errors_become_typed_errors_in_pves_words():
    bad = refused(400, "Parameter verification failed.", {"vmid": "invalid format"})
    assert isinstance(bad, InvalidInput) and bad.fields == {"vmid": "invalid format"}
    assert isinstance(refused(500, "VM is locked (backup)"), Conflict)
    assert isinstance(refused(500, "Configuration file 'nodes/pve1/qemu-server/100.conf' "
                                   "does not exist"), NotFound)
    assert isinstance(refused(595, "No route to host"), Unreachable)
    plain = refused(500, "cluster not ready - no quorum?")
    assert type(plain).__name__ == "BackendError" and plain.message == (
        "cluster not ready - no quorum? on POST /nodes/pve1/qemu/100/status/start")
