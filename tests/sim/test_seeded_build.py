"""A seed gives the same cluster, draw for draw, however its build is made cheaper.

The fingerprints below were taken on `ae47890`, before the 10,000-guest start was made
cheaper (issue 12): every random draw of the build (MACs, UUIDs, shapes, placements,
uptimes, HA) and of the load model's profiles is in them, as exact float reprs. Only
draws and IEEE arithmetic go in, no libm sines, so they hold on any platform.
"""

from __future__ import annotations

import hashlib

import pytest

from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.config import SimCluster


def fingerprint(backend: SimBackend) -> str:
    """SHA-256 of the simulator's guests, their running copies and the load profiles
    that its first inventory drew."""
    backend.inventory()
    sim = backend.sim
    digest = hashlib.sha256()
    for g in sim.guests.values():
        digest.update(repr((
            g.id, g.vmid, g.name, g.kind.value, g.node, g.maxcpu, g.maxmem, g.ip, g.mac,
            g.uuid, g.load_index, g.template, g.tags, g.disk_used_fraction,
            g.boot_seconds, g.shutdown_seconds, [(d.key, d.storage, d.size, d.node)
                                                 for d in g.disks],
            None if g.ha is None else (g.ha.request.value, g.ha.state.value, g.ha.group),
        )).encode())
    for node in sim.nodes.values():
        digest.update(repr(sorted((i.guest, i.since, i.booted) for i in
                                  node.instances.values())).encode())
    digest.update(repr(sim.load._profiles).encode())
    return digest.hexdigest()


@pytest.mark.parametrize(("cluster", "expected"), [
    (SimCluster(), "9b0f15d6f4f36f0d04a973880c5d1180434422602d7e20895373afded371878a"),
    (SimCluster(nodes=100, guests=10_000, seed=7),
     "9ef0e7e6410b030d454c499aa8a2fc4d655205aaf23db024ec01fe4c6700fb58"),
    (SimCluster(nodes=7, guests=777, seed=11),
     "664c204df9fafd86a163d29fc41cae931b966d7bdaaa9a88c0d29bf703554115"),
], ids=["classic-lab", "10000-guests", "777-guests"])
def test_a_seed_gives_the_same_cluster_draw_for_draw(cluster: SimCluster,
                                                     expected: str) -> None:
    assert fingerprint(SimBackend(cluster, clock=ManualClock())) == expected
