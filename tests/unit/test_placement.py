"""The placement rule of bulk spreads and maintenance plans (vmconsole/placement.py):
the allowed node with the most free memory, what earlier placements took counted,
nodes in maintenance never chosen, and the reason when no node may take a guest."""

from __future__ import annotations

from vmconsole.backends.base import MigrationTarget
from vmconsole.model import Guest, GuestKind, GuestStatus
from vmconsole.placement import GIB, choose_target, spread


def guest(vmid: int, gib: int, status: GuestStatus = GuestStatus.RUNNING) -> Guest:
    return Guest(id=f"qemu/{vmid}", name=f"vm{vmid}", kind=GuestKind.VM, node="pve1",
                 status=status, vmid=vmid, maxmem=gib * GIB)


TARGETS = [MigrationTarget("pve1", False, "the guest is on this node"),
           MigrationTarget("pve2", True), MigrationTarget("pve3", True),
           MigrationTarget("pve4", False, "not enough memory")]


def test_the_allowed_node_with_the_most_free_memory_is_chosen_and_says_why() -> None:
    node, why = choose_target(TARGETS, {"pve2": 8 * GIB, "pve3": 12 * GIB, "pve4": 64 * GIB})
    assert node == "pve3"
    assert why == "most free memory of pve2, pve3: 12.0 GiB"


def test_a_node_in_maintenance_is_never_chosen_and_no_node_says_why_not() -> None:
    free = {"pve2": 8 * GIB, "pve3": 12 * GIB}
    assert choose_target(TARGETS, free, excluded=["pve3"])[0] == "pve2"
    node, why = choose_target(TARGETS, free, excluded=["pve2", "pve3"])
    assert node is None
    assert why == ("no node may take it (pve4: not enough memory; pve2: in maintenance; "
                   "pve3: in maintenance)")


def test_spread_counts_what_it_placed_so_guests_do_not_all_go_to_one_node() -> None:
    free = {"pve2": 10 * GIB, "pve3": 12 * GIB}
    placed = spread([guest(1, 4), guest(2, 4), guest(3, 4), guest(4, 4, GuestStatus.STOPPED)],
                    lambda g: TARGETS, free)
    # pve3 12 -> 8; pve2 10 -> 6; pve3 8 -> 4; a stopped guest takes no memory: pve2 (6).
    assert [m.target for m in placed.moves] == ["pve3", "pve2", "pve3", "pve2"]
    assert not placed.stays
