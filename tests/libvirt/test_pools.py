"""A pool stopped by a failed refresh keeps libvirt's reason in the inventory while it
stays stopped, whichever of a node's two hosts (its VMs' and its containers' driver,
one libvirtd) read it first: the lab's storage fault lost it when the containers' host
had listed the pool, still running, just before the VMs' host's refresh stopped it."""

from __future__ import annotations

from dataclasses import replace

from vmconsole.backends.libvirt.pools import PoolStates
from vmconsole.model import Storage

REASON = "internal error: Failed to connect: Connect failed with errno : Invalid argument(22)"
SAN = Storage("storage/pve1/san", "san", "iscsi-direct", True, 3 << 30, 1 << 30, "pve1")
STOPPED = replace(SAN, active=False)  # as listed by a read that did not refresh it
FAILED = replace(STOPPED, error=REASON)  # as listed by the refresh that stopped it
PVE2 = replace(SAN, id="storage/pve2/san", node="pve2")


def test_the_refresh_that_stopped_a_pool_wins_over_a_read_from_before_it():
    pools = PoolStates()
    # the VMs' host read first in host order; the containers' host's list came earlier
    assert pools.merge([FAILED, PVE2, SAN]) == (FAILED, PVE2)
    assert pools.merge([SAN, FAILED]) == (FAILED,)
    assert pools.merge([STOPPED, FAILED]) == (FAILED,)


def test_the_reason_stays_while_the_pool_stays_stopped_and_goes_once_it_runs():
    pools = PoolStates()
    pools.merge([FAILED, PVE2, SAN])
    # not refreshed again (libvirt refreshes only a running pool): no reason read now
    assert pools.merge([STOPPED, PVE2, STOPPED]) == (FAILED, PVE2)
    assert pools.merge([STOPPED]) == (FAILED,)
    assert pools.merge([SAN, PVE2, SAN]) == (SAN, PVE2)  # started again (lab restore)
    assert pools.merge([STOPPED]) == (STOPPED,)  # stopped by hand: no reason is invented
