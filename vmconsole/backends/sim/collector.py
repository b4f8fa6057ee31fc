"""Python's cyclic garbage collector paused while the simulator builds in bulk.

Building a 10,000-guest cluster, or its first inventory, makes some 150,000 objects that
live on (guests, disks, running copies, inventory entries) and almost no garbage: the
collections their allocations set off found 525 objects to free among them, but each
full one walked every object of the process again, modules included. Measured on the
10,000-guest demo's start (issue 12): three full collections before the first screen,
a quarter of the start's CPU time in the collector. Paused, the build's objects are
looked at once, by the first collection after it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0  # builds under way, in any thread
_resume = False  # whether the collector was on when the first of them began


@contextmanager
def collector_paused() -> Iterator[None]:
    """Automatic collection off for the `with` block, then back as it was: on only if
    it was on before the outermost of overlapping pauses (the poll thread's inventory
    may overlap a build in another thread). `gc.collect()` still works inside."""
    global _pauses, _resume
    with _lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()
