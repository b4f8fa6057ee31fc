"""A rebalance plan on a Proxmox cluster (fakepve): HA rules read from the API are
respected and named, local disks keep a guest in place, and HA resources are left to
Proxmox's CRS when its auto-rebalance is on."""

from __future__ import annotations

import copy

from tests.proxmox.conftest import LAB
from vmconsole.backends.placement import gather
from vmconsole.backends.proxmox.placement import crs_options, priorities
from vmconsole.balance import plan

GIB = 1024


def precheck(vmid: int) -> dict:
    """PVE's migration check (qemu-server's migrate_vm_precondition) as it answers for a
    running VM: every other node allowed, and the disks on local storage."""
    disks = [{"volid": "local-lvm:vm-104-disk-0", "size": 8 << 30, "drivename": "scsi0",
              "is_unused": 0}] if vmid == 104 else []
    return {"running": 1, "allowed_nodes": ["pve2", "pve3"], "not_allowed_nodes": {},
            "local_disks": disks, "local_resources": []}


def crowded(crs: str) -> dict:
    """Everything running on pve1; app (vm 102) HA-managed and held there by a strict
    node-affinity rule; scratch (vm 104) on a local disk."""
    seed = copy.deepcopy(LAB)
    seed["guests"] += [
        {"vmid": 102, "name": "app", "node": "pve1", "status": "running",
         "attrs": {"ha_state": "started"},
         "config": {"memory": 2 * GIB, "cores": 2, "scsi0": "ceph:vm-102-disk-0,size=8G"}},
        {"vmid": 103, "name": "big", "node": "pve1", "status": "running",
         "config": {"memory": 2 * GIB, "cores": 2, "scsi0": "ceph:vm-103-disk-0,size=8G"}},
        {"vmid": 104, "name": "scratch", "node": "pve1", "status": "running",
         "config": {"memory": GIB, "scsi0": "local-lvm:vm-104-disk-0,size=8G"}},
    ]
    seed["answers"] = [
        ["GET", "/cluster/options", {"crs": crs}],
        ["GET", "/cluster/ha/rules", [
            {"rule": "app-on-pve1", "type": "node-affinity", "nodes": "pve1", "strict": 1,
             "resources": "vm:102"}]],
        ["GET", "/version", {"release": "9.1", "version": "9.1.1", "repoid": "fake"}],
        *([["GET", "/nodes/{node}/qemu/{vmid}/migrate", precheck(vmid), {"vmid": vmid}]
           for vmid in (100, 102, 103, 104)]),
    ]
    return seed


def test_a_move_a_node_affinity_rule_forbids_is_not_proposed_and_is_named(fakepve, backend):
    fakepve.send("reset", seed=crowded("ha=static"))
    inventory = backend.inventory()
    result = plan(inventory, gather(backend, inventory), "static")
    moved = {m.name: m.target for m in result.moves}
    assert "app" not in moved and "big" in moved and moved["big"] != "pve1"
    assert result.imbalance_after < result.imbalance_before
    blocked = next(b for b in result.blocked if b.name == "app")
    assert blocked.blocked_by.startswith("node-affinity rule app-on-pve1: ")
    assert blocked.blocked_by.endswith("is not one of its nodes")
    stuck = {s.name: s.reason for s in result.stuck}
    assert stuck["scratch"].startswith("local disks local-lvm:vm-104-disk-0")
    assert not result.notes


def test_ha_resources_are_left_to_proxmoxs_crs_when_it_rebalances(fakepve, backend):
    fakepve.send("reset", seed=crowded("ha=dynamic,ha-auto-rebalance=1"))
    inventory = backend.inventory()
    result = plan(inventory, gather(backend, inventory), "static")
    stuck = {s.name: s.reason for s in result.stuck}
    assert stuck["app"] == "HA-managed: left to Proxmox's CRS (ha=dynamic)"
    assert result.notes == ("HA-managed guests are left to Proxmox's own CRS (ha=dynamic)",)
    assert "big" in {m.name for m in result.moves}


def test_crs_and_priorities_as_datacenter_cfg_writes_them():
    assert crs_options("static") == {"ha": "static"}
    assert crs_options("ha=dynamic,ha-auto-rebalance=1") == {"ha": "dynamic",
                                                             "ha-auto-rebalance": "1"}
    assert crs_options(None) == {}
    assert priorities("pve1:2,pve2") == {"pve1": 2, "pve2": 0}
