"""A seed gives the same cluster, draw for draw, however its build is made cheaper.

The build's fingerprints were taken on `ae47890`, before the 10,000-guest start was made
cheaper (issue 12): every random draw of the build (MACs, UUIDs, shapes, placements,
uptimes, HA) is in them, as exact float reprs. The load profiles' were taken on
`3439599`, when they came to be drawn from one stream instead of a seed each (issue 12).
Only draws and IEEE arithmetic go in, no libm sines, so they hold on any platform.
"""

from __future__ import annotations

import hashlib
import random

import pytest

from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.backends.sim.lab import choose
from vmconsole.backends.sim.load import LoadModel
from vmconsole.config import SimCluster

CLUSTERS = [SimCluster(), SimCluster(nodes=100, guests=10_000, seed=7),
            SimCluster(nodes=7, guests=777, seed=11)]
IDS = ["classic-lab", "10000-guests", "777-guests"]


def fingerprint(backend: SimBackend) -> str:
    """SHA-256 of the simulator's guests and their running copies."""
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
    return digest.hexdigest()


@pytest.mark.parametrize(("cluster", "expected"), zip(CLUSTERS, [
    "7b00f347d34818b4672e4a40d08ee27ec1c147350f98b019a6f981de2dcac18c",
    "93314b5638e76f919d39473f3b2a89a3cf35db62bec29a50db5a9d37355a912d",
    "9249abe61a725f8329705458f6078b011ec45437a456b3b47c8e27524e2c7959",
], strict=True), ids=IDS)
def test_a_seed_gives_the_same_cluster_draw_for_draw(cluster: SimCluster,
                                                     expected: str) -> None:
    assert fingerprint(SimBackend(cluster, clock=ManualClock())) == expected


@pytest.mark.parametrize(("cluster", "expected"), zip(CLUSTERS, [
    "e4450ff8a69e95a9b4e67612812ad45a5a5e22175d3f8130693ec630156b4601",
    "82f4d64c47e6f045afe4ea7a4db924be89adda2e6f2124defbae919e69a0c34e",
    "3d1067466266462fa44dbeb08452c8befaa86769f0e4d737592f2236d3aaffc6",
], strict=True), ids=IDS)
def test_a_seed_gives_the_same_load_profiles(cluster: SimCluster, expected: str) -> None:
    """The profiles the first inventory drew, as exact float reprs."""
    backend = SimBackend(cluster, clock=ManualClock())
    backend.inventory()
    profiles = backend.sim.load._profiles  # up to the last running guest's row
    assert hashlib.sha256(repr(profiles).encode()).hexdigest() == expected


def test_a_profile_is_the_same_whichever_row_is_asked_first() -> None:
    in_order, far_first = LoadModel(7), LoadModel(7)
    far = far_first.profile(40)
    assert [in_order.profile(i) for i in range(41)] == [far_first.profile(i)
                                                        for i in range(41)]
    assert far == in_order.profile(40)
    assert LoadModel(8).profile(40) != far


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 8, 255, 256, 257])
def test_choose_draws_what_random_choice_draws(count: int) -> None:
    """The build's `choose` picks what `Random.choice` picks and leaves the stream where
    it leaves it, rejected draws included (a count just past a power of two rejects
    almost half)."""
    options = tuple(range(count))
    ours, stdlib = random.Random(7), random.Random(7)
    assert ([choose(ours.getrandbits, options) for _ in range(300)]
            == [stdlib.choice(options) for _ in range(300)])
    assert ours.random() == stdlib.random()
