"""The classic lab's shape, the load model, generated clusters and the inventory cache."""

from __future__ import annotations

import dataclasses

from vmconsole.backends.base import MigrationMode
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.backends.sim.inventory import NODE_BASE_MEM, InventoryBuilder
from vmconsole.config import SimCluster
from vmconsole.model import GuestKind, GuestStatus, HARequest, HAState, NodeStatus

GiB = 1024**3


def test_classic_lab_has_the_course_shape(lab: SimBackend) -> None:
    inv = lab.inventory()
    assert inv.cluster == "lab"
    assert [n.name for n in inv.nodes] == ["pve1", "pve2", "pve3"]
    assert all(n.status is NodeStatus.ONLINE and n.maxcpu == 4 for n in inv.nodes)
    assert inv.quorum is not None and (inv.quorum.votes, inv.quorum.expected) == (3, 3)
    assert inv.quorum.quorate
    san = next(s for s in inv.storages if s.name == "san")
    assert san.shared and san.total == 100 * GiB and san.node is None and san.active
    local = [s for s in inv.storages if s.name == "local-lvm"]
    assert sorted(s.node or "" for s in local) == ["pve1", "pve2", "pve3"]
    assert not any(s.shared for s in local)


def test_classic_lab_guests(lab: SimBackend) -> None:
    guests = lab.inventory().guests
    templates = {g.id for g in guests if g.template}
    assert templates == {"qemu/9000", "lxc/9001"}
    running = [g for g in guests if g.running]
    assert len(running) >= 4
    assert {g.kind for g in running} == {GuestKind.VM, GuestKind.CT}
    assert {g.node for g in running} == {"pve1", "pve2", "pve3"}
    stopped = [g for g in guests if g.status is GuestStatus.STOPPED and not g.template]
    assert len(stopped) == 1
    assert any(g.ha and g.ha.state is HAState.STARTED for g in running)
    # A running VM on local storage: the one whose live migration is refused.
    assert any(g.kind is GuestKind.VM and "local-lvm" in g.storages for g in running)
    assert all(g.id == f"{g.kind.value}/{g.vmid}" for g in guests)
    # A running guest reports its address, as an agent would; a stopped one says why not.
    ips = [g.ip for g in guests if g.ip]
    assert len(ips) == len(set(ips)) == len(running)
    assert all(g.addresses[0].source == "simulator" for g in running)
    assert [g.address_note for g in stopped] == ["stopped"]


def test_metrics_are_plausible_and_move(lab: SimBackend, clock: ManualClock) -> None:
    before = lab.inventory()
    clock.advance(30)
    after = lab.inventory()
    assert after.taken_at - before.taken_at == 30
    for guest in after.guests:
        if guest.running:
            assert 0 < guest.metrics.cpu <= 1
            assert 0 < guest.metrics.mem <= guest.maxmem
            assert guest.metrics.net_in > 0 and guest.metrics.disk_read > 0
            assert guest.uptime > 3600
        else:
            assert guest.metrics.cpu == 0 and guest.uptime == 0
    moved = [g.id for g in after.guests
             if g.running and g.metrics != before.guest(g.id).metrics]  # type: ignore[union-attr]
    assert len(moved) == len([g for g in after.guests if g.running])


def test_node_figures_sum_their_guests(lab: SimBackend, clock: ManualClock) -> None:
    clock.advance(0.5)  # off every report grid point: entries are reused, sums must hold
    inv = lab.inventory()
    for node in inv.nodes:
        guests = [g for g in inv.guests_on(node.name) if g.running]
        assert node.metrics.mem == NODE_BASE_MEM + sum(g.metrics.mem for g in guests)
        cores = sum(g.metrics.cpu * g.maxcpu for g in guests)
        assert abs(node.metrics.cpu * node.maxcpu - cores - 0.02 * node.maxcpu) < 1e-9
        assert node.loadavg[0] > 0 and node.uptime > 86400


def test_same_seed_same_cluster_other_seed_other_load(clock: ManualClock) -> None:
    one = SimBackend(SimCluster(seed=7), clock=clock).inventory()
    two = SimBackend(SimCluster(seed=7), clock=clock).inventory()
    other = SimBackend(SimCluster(seed=8), clock=clock).inventory()
    assert one == two
    assert [g.metrics for g in one.guests] != [g.metrics for g in other.guests]


def test_generated_cluster_at_scale(clock: ManualClock) -> None:
    inv = SimBackend(SimCluster(nodes=100, guests=10_000), clock=clock).inventory()
    assert len(inv.nodes) == 100 and len(inv.guests) == 10_000
    assert len({g.id for g in inv.guests}) == 10_000
    kinds = {kind: sum(g.kind is kind for g in inv.guests) for kind in GuestKind}
    assert kinds[GuestKind.VM] > kinds[GuestKind.CT] > 1000
    running = sum(g.running for g in inv.guests)
    assert 0.85 < running / 10_000 < 0.97
    assert sum(g.template for g in inv.guests) == 2
    assert any(g.ha for g in inv.guests)
    per_node = [len(inv.guests_on(n.name)) for n in inv.nodes]
    assert min(per_node) == max(per_node) == 100
    assert all(n.metrics.mem <= n.maxmem for n in inv.nodes)


def test_cached_entries_equal_a_fresh_build(clock: ManualClock) -> None:
    backend = SimBackend(SimCluster(nodes=10, guests=3000), clock=clock)
    backend.inventory()
    for step in (0.4, 1.3, 2.9, 7.1):
        clock.advance(step)
        cached = backend.inventory()
        fresh = InventoryBuilder(backend.sim, backend.sim.load, 3.0).build()
        assert cached == fresh


def test_report_grid_reuses_entries_between_reports(clock: ManualClock) -> None:
    backend = SimBackend(SimCluster(nodes=100, guests=10_000), clock=clock)
    first = backend.inventory()
    clock.advance(1)  # a tenth of the 10 s report interval
    second = backend.inventory()
    same = sum(a is b for a, b in zip(first.guests, second.guests, strict=True))
    assert 0.8 * 10_000 < same < 0.95 * 10_000
    clock.advance(10)
    third = backend.inventory()
    assert not any(a is c for a, c in zip(first.guests, third.guests, strict=True)
                   if a.running)


def test_guests_are_frozen_snapshots(lab: SimBackend) -> None:
    guest = lab.inventory().guests[0]
    assert dataclasses.is_dataclass(guest)
    try:
        guest.name = "x"  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("inventory objects must be immutable")


def test_cached_inventory_follows_operations_and_faults(clock: ManualClock) -> None:
    """Every state change must reach the reused entries: compare with a fresh build
    through migrations, a clone, a snapshot, HA changes and a partition."""
    backend = SimBackend(SimCluster(scenario="migrate"), clock=clock)
    backend.clone("qemu/9000", CloneSpec(name="fresh", node="pve3"))
    backend.ha_set("qemu/103", HASettings(request=HARequest.STARTED))
    backend.snapshot_create("qemu/101", "before", vmstate=True)
    for poll in range(700):  # 0.3 s apart: entries are reused between 1 s reports
        clock.advance(0.3)
        if poll == 300:
            backend.partition([["pve1", "pve2"], ["pve3"]])
        cached = backend.inventory()
        fresh = InventoryBuilder(backend.sim, backend.sim.load, 1.0).build()
        assert cached == fresh, f"stale entry at poll {poll}"


def test_storage_usage_follows_clones_and_moved_volumes(lab: SimBackend,
                                                        clock: ManualClock) -> None:
    def local_used(node: str) -> int:
        return next(s.used for s in lab.inventory().storages
                    if s.name == "local-lvm" and s.node == node)

    before = lab.inventory()
    san_before = next(s.used for s in before.storages if s.name == "san")
    lab.clone("qemu/9000", CloneSpec(name="grow", node="pve2"))
    san_after = next(s.used for s in lab.inventory().storages if s.name == "san")
    assert san_after - san_before == 10 * GiB  # thick LVM: allocated at once
    on_pve3 = local_used("pve3")
    lab.stop("qemu/102")
    clock.advance(1)
    lab.migrate("qemu/102", "pve1", MigrationMode.OFFLINE, with_local_disks=True)
    clock.advance(300)
    assert local_used("pve3") == 0 and local_used("pve1") >= on_pve3
    assert lab.sim.usage() == lab.sim.count_usage()
