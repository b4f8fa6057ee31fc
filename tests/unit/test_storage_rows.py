"""The cluster pane's storage rows: a shared pool that every libvirt host lists apart
is one row naming its nodes, and where it is unavailable."""

from __future__ import annotations

from vmconsole.model import Inventory, Node, NodeStatus, Storage
from vmconsole.ui.cluster_summary import storage_rows

GIB = 1024**3


def san(node: str, active: bool = True) -> Storage:
    return Storage(f"storage/{node}/san", "san", "iscsi-direct", True, 3 * GIB, GIB,
                   node=node, active=active)


def test_one_row_for_a_shared_pool_of_every_node():
    local = Storage("storage/pve1/lab-images", "lab-images", "dir", False, 8 * GIB, GIB,
                    node="pve1")
    inv = Inventory("lab", (), (), (san("pve1"), san("pve2"), local))
    assert storage_rows(inv) == [
        ("Storage san", "iscsi-direct shared by pve1, pve2: 1.0 GiB of 3.0 GiB"),
        ("Storage lab-images", "dir on pve1: 1.0 GiB of 8.0 GiB"),
    ]


def test_where_a_shared_pool_is_unavailable():
    inv = Inventory("lab", (), (), (san("pve1", active=False), san("pve2")))
    assert storage_rows(inv) == [
        ("Storage san", "iscsi-direct shared by pve1, pve2, UNAVAILABLE on pve1: "
                        "1.0 GiB of 3.0 GiB")]
    one = Inventory("pve", (), (), (Storage("storage/ceph", "ceph", "rbd", True, GIB, 0,
                                            active=False),))
    assert storage_rows(one) == [("Storage ceph", "rbd shared, UNAVAILABLE: 0 B of 1.0 GiB")]


def test_past_eight_local_storages_the_rest_are_one_row_with_their_sum() -> None:
    nodes = tuple(Node(f"pve{n}", NodeStatus.ONLINE, 4, 8 << 30) for n in range(1, 11))
    storages = tuple(Storage(f"storage/pve{n}/local", "local", "dir", False, 4 << 30, 1 << 30,
                             node=f"pve{n}", active=n != 10) for n in range(1, 11))
    rows = storage_rows(Inventory("lab", nodes, (), storages))
    assert [label for label, _ in rows] == ["Storage local"] * 8 + ["Storage, more"]
    assert rows[-1][1] == ("2 local to their nodes (each under its node in the tree): "
                           "2.0 GiB of 8.0 GiB; UNAVAILABLE: local on pve10")
