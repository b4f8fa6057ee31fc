"""One guest, one identity in the simulator: ids are unique in the cluster, and a
vmid is taken across VMs and containers alike, as in Proxmox VE."""

from __future__ import annotations

import pytest

from vmconsole.backends.base import Conflict
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.config import SimCluster


def test_ids_and_vmids_are_unique_in_a_large_cluster() -> None:
    backend = SimBackend(SimCluster(nodes=20, guests=3000, seed=5), clock=ManualClock())
    guests = backend.inventory().guests
    assert len(guests) >= 3000
    assert len({g.id for g in guests}) == len(guests)
    assert len({g.vmid for g in guests}) == len(guests)


def test_a_vmid_of_a_vm_is_refused_for_a_container(lab: SimBackend) -> None:
    with pytest.raises(Conflict, match="VM 100 already exists"):
        lab.clone("lxc/9001", CloneSpec(name="ct100", node="pve1", vmid=100))
    assert lab.inventory().guest("lxc/100") is None
