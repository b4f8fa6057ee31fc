"""Rates from cumulative counters, as libvirt and Proxmox report I/O and CPU time."""

from __future__ import annotations

from collections.abc import Sequence


def per_second(old: Sequence[float], new: Sequence[float], elapsed: float) -> tuple[float, ...]:
    """Each counter's increase per second. A counter that went down was reset (the guest
    restarted or migrated): it gives no rate this time rather than a negative one."""
    if elapsed <= 0:
        return (0.0,) * len(new)
    # a list, not a generator: called for every guest of every poll (2,000 on a host)
    return tuple([max(0.0, (b - a) / elapsed) for a, b in zip(old, new, strict=True)])
