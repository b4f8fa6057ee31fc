from dataclasses import replace

from vmconsole.model import (
    Guest,
    GuestKind,
    GuestStatus,
    HAConfig,
    Inventory,
    Metrics,
    Node,
    NodeStatus,
    Quorum,
    total_metrics,
)
from vmconsole.ui.labels import label_key


def _inv(*guests: Guest, quorum: Quorum | None = None) -> Inventory:
    nodes = tuple(Node(n, NodeStatus.ONLINE, 4, 8 << 30) for n in ("pve1", "pve2"))
    return Inventory("lab", nodes, guests, quorum=quorum)


VM = Guest("qemu/100", "web", GuestKind.VM, "pve1", GuestStatus.RUNNING, vmid=100)
CT = Guest("lxc/200", "dns", GuestKind.CT, "pve2", GuestStatus.STOPPED, vmid=200)


def test_identical_inventories_have_an_empty_diff():
    assert _inv(VM, CT).diff(_inv(VM, CT)).empty


def test_metrics_change_is_a_change_but_not_a_relabel():
    busy = replace(VM, metrics=Metrics(cpu=0.9))
    diff = _inv(VM).diff(_inv(busy), label_key)
    assert diff.changed == ("qemu/100",)
    assert diff.relabelled == ()
    assert not diff.topology_changed


def test_without_a_label_key_every_change_relabels():
    busy = replace(VM, metrics=Metrics(cpu=0.9))
    assert _inv(VM).diff(_inv(busy)).relabelled == ("qemu/100",)


def test_status_and_ha_changes_relabel():
    stopped = replace(VM, status=GuestStatus.STOPPED, ha=HAConfig())
    diff = _inv(VM).diff(_inv(stopped), label_key)
    assert diff.relabelled == ("qemu/100",)


def test_added_removed_and_moved_guests():
    moved = replace(VM, node="pve2")
    diff = _inv(VM, CT).diff(_inv(moved))
    assert diff.removed == ("lxc/200",)
    assert diff.moved == {"qemu/100": "pve2"}
    assert diff.topology_changed
    diff = _inv(VM).diff(_inv(VM, CT))
    assert diff.added == ("lxc/200",)


def test_quorum_change_is_a_cluster_change():
    a = _inv(VM, quorum=Quorum(3, 3, True))
    b = _inv(VM, quorum=Quorum(1, 3, False))
    assert a.diff(b).cluster_changed and not a.diff(b).changed


def test_lookups_and_totals():
    inv = _inv(VM, CT)
    assert inv.guest("lxc/200") == CT
    assert [g.id for g in inv.guests_on("pve1")] == ["qemu/100"]
    assert inv.node("pve3") is None
    total = total_metrics([Metrics(cpu=0.5, mem=10), Metrics(cpu=0.25, mem=5)])
    assert total.cpu == 0.75 and total.mem == 15
