"""The placement rule of bulk spreads and maintenance plans (vmconsole/placement.py):
of the nodes the backend allows, the one the rebalance planner scores best (Proxmox's
static TOPSIS), what earlier placements took counted, nodes in maintenance never
chosen, and the reason when no node may take a guest."""

from __future__ import annotations

from vmconsole.backends.base import MigrationTarget
from vmconsole.model import Guest, GuestKind, GuestStatus, Inventory, Metrics, Node, NodeStatus
from vmconsole.placement import choose_target, spread

GIB = 1024**3


def guest(vmid: int, gib: int, node: str = "pve1",
          status: GuestStatus = GuestStatus.RUNNING) -> Guest:
    return Guest(id=f"qemu/{vmid}", name=f"vm{vmid}", kind=GuestKind.VM, node=node,
                 status=status, vmid=vmid, maxcpu=2, maxmem=gib * GIB,
                 metrics=Metrics(mem=gib * GIB))


def inventory(*guests: Guest) -> Inventory:
    nodes = tuple(Node(f"pve{n}", NodeStatus.ONLINE, 16, 64 * GIB) for n in (1, 2, 3, 4))
    return Inventory("lab", nodes, guests)


TARGETS = [MigrationTarget("pve1", False, "the guest is on this node"),
           MigrationTarget("pve2", True), MigrationTarget("pve3", True),
           MigrationTarget("pve4", False, "not enough memory")]


def test_the_allowed_node_the_planner_scores_best_is_chosen_and_says_why() -> None:
    moving = guest(1, 4)
    # pve2 already runs 24 GiB, pve3 4 GiB; pve4 is emptier still, but not allowed.
    inv = inventory(moving, guest(2, 24, "pve2"), guest(3, 4, "pve3"))
    node, why = choose_target(inv, moving, TARGETS)
    assert node == "pve3"
    assert why.startswith("TOPSIS score ") and "pve3 at CPU" in why


def test_a_node_in_maintenance_is_never_chosen_and_no_node_says_why_not() -> None:
    moving = guest(1, 4)
    inv = inventory(moving, guest(2, 24, "pve2"))
    assert choose_target(inv, moving, TARGETS, excluded=["pve3"])[0] == "pve2"
    node, why = choose_target(inv, moving, TARGETS, excluded=["pve2", "pve3"])
    assert node is None
    assert why == ("no node may take it (pve4: not enough memory; pve2: in maintenance; "
                   "pve3: in maintenance)")


def test_spread_counts_what_it_placed_so_guests_do_not_all_go_to_one_node() -> None:
    movers = [guest(n, 8) for n in (1, 2, 3, 4)]
    placed = spread(movers, lambda g: TARGETS, inventory(*movers))
    assert sorted(m.target for m in placed.moves) == ["pve2", "pve2", "pve3", "pve3"]
    assert not placed.stays
