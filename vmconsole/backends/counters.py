"""Rates from cumulative counters, as libvirt and Proxmox report I/O and CPU time."""

from __future__ import annotations

from collections.abc import Sequence


def per_second(old: Sequence[float], new: Sequence[float], elapsed: float) -> tuple[float, ...]:
    """Each counter's increase per second. A counter that went down was reset (the guest
    restarted or migrated): it gives no rate this time rather than a negative one."""
    if elapsed <= 0:
        return (0.0,) * len(new)
    # a list, not a generator, and a comparison, not max(): called for every guest of
    # every poll (2,000 on a host), most of whose counters have not moved
    return tuple([(b - a) / elapsed if b > a else 0.0 for a, b in zip(old, new, strict=True)])
