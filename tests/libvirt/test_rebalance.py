"""A rebalance plan on libvirt hosts (the test driver): the guests that cannot move say
why, in the planner's words (a local pool) and libvirt's (memory on the other host)."""

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from vmconsole.backends.placement import gather
from vmconsole.balance import plan


def test_the_plan_keeps_what_cannot_move_and_says_why(cluster):
    inventory = cluster.inventory()
    result = plan(inventory, gather(cluster, inventory), "static")
    loads = {n.node: n for n in result.nodes}
    assert loads["pve2"].mem_before == 75.0  # app2's 1.5 GiB of 2 GiB
    stuck = {s.name: s.reason for s in result.stuck}
    assert stuck["web1"] == "disk on local storage pool1: cannot migrate live"
    assert stuck["db1"] == "not enough memory: db1 needs 2048 MiB, pve2 has 512 MiB unassigned"
    # app2 alone on pve1 would leave pve2 empty: a worse spread, so no move
    assert result.moves == () and result.imbalance_after == result.imbalance_before
