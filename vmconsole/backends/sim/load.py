"""A seeded, smooth load model: each guest's figures are a few sines of simulated time.

Evaluating it is a pure function of (seed, load index, time), so any moment can be
asked for in any order, and a poll of 10,000 guests costs a few sines each. Profile i
is the i-th drawn from one stream seeded by the seed (`LoadModel.profile`). A guest
that has just booted burns CPU and disk for its boot time, as a real one does.
"""

from __future__ import annotations

import math
import random
from typing import NamedTuple

from vmconsole.backends.sim.state import MiB

TWO_PI = 2 * math.pi
_new_tuple = tuple.__new__


class Profile(NamedTuple):
    cpu_mean: float
    amp1: float
    w1: float
    phase1: float
    amp2: float
    w2: float
    phase2: float
    w3: float
    phase3: float
    mem_fraction: float
    net_rate: float  # bytes/s at mean activity
    disk_rate: float


def _profile(rng: random.Random) -> Profile:
    # `a + (b - a) * draw()` is what `rng.uniform(a, b)` returns, draw for draw: written
    # out, it spares 12 calls per guest, 120,000 before a 10,000-guest first screen.
    draw = rng.random
    busy = draw() < 0.2  # a fifth of guests do real work
    cpu_mean = 0.25 + (0.6 - 0.25) * draw() if busy else 0.02 + (0.15 - 0.02) * draw()
    more = 3 if busy else 1
    # Positional, in the fields' order (each named after it): keywords cost twice as much.
    # `tuple.__new__` is what `Profile(...)` runs, without its generated Python `__new__`.
    return _new_tuple(Profile, (
        cpu_mean,
        cpu_mean * (0.3 + (0.7 - 0.3) * draw()),  # amp1
        TWO_PI / (90 + (600 - 90) * draw()),  # w1
        TWO_PI * draw(),  # phase1
        cpu_mean * (0.1 + (0.3 - 0.1) * draw()),  # amp2
        TWO_PI / (7 + (40 - 7) * draw()),  # w2
        TWO_PI * draw(),  # phase2
        TWO_PI / (300 + (1800 - 300) * draw()),  # w3
        TWO_PI * draw(),  # phase3
        0.35 + (0.8 - 0.35) * draw(),  # mem_fraction
        (20e3 + (4e6 - 20e3) * draw()) * more,  # net_rate
        (10e3 + (2e6 - 10e3) * draw()) * more,  # disk_rate
    ))


class LoadModel:
    def __init__(self, seed: int) -> None:
        self._profiles: list[Profile] = []
        # One stream for every profile, drawn in index order. Each profile used to
        # reseed a Random of its own (f"{seed}:load:{index}"): 9,249 seeds, each an
        # SHA-512 and a fresh 2.5 KB Mersenne Twister state, were 90 ms of the 250 ms
        # first inventory of 10,000 guests (issue 12). The draws differ from then's.
        self._rng = random.Random(f"{seed}:load")

    def profile(self, index: int) -> Profile:
        """The load profile of row `index` (>= 0). Rows are drawn in order the first
        time a row at or past them is asked for, so row i is the same whatever was
        asked before it; a clone's row (10,000 past the cluster's guests) draws every
        row before it once, ~35 ms."""
        profiles = self._profiles
        if index >= len(profiles):
            rng = self._rng
            while len(profiles) <= index:
                profiles.append(_profile(rng))
        return profiles[index]

    def figures(self, index: int, t: float, maxmem: int, uptime: float,
                boot_seconds: float) -> tuple[float, int, float, float, float, float]:
        """(cpu, mem, disk_read, disk_write, net_in, net_out) of one guest at time t.

        A tuple, not `Metrics`: the inventory sums these per node on its hot path."""
        (cpu_mean, amp1, w1, phase1, amp2, w2, phase2, w3, phase3, mem_fraction, net_rate,
         disk_rate) = self.profile(index)
        sin = math.sin
        slow = sin(w3 * t + phase3)
        cpu = cpu_mean + amp1 * sin(w1 * t + phase1) + amp2 * sin(w2 * t + phase2)
        activity = cpu / cpu_mean
        disk = disk_rate * activity
        if uptime < boot_seconds:  # booting: CPU-bound, reading its disk
            cpu = max(cpu, 0.7)
            disk += 40 * MiB
            mem = int(maxmem * mem_fraction * max(0.2, uptime / boot_seconds))
        else:
            mem = int(maxmem * (mem_fraction + 0.08 * slow))
        cpu = 0.005 if cpu < 0.005 else 0.99 if cpu > 0.99 else cpu
        net = net_rate * activity
        return (cpu, mem, disk * (0.6 + 0.3 * slow), disk * (0.4 - 0.2 * slow),
                net * (0.7 + 0.3 * slow), net * (0.5 - 0.25 * slow))
