"""Python's cyclic garbage collector paused while the simulator builds in bulk.

Building a 10,000-guest cluster, or its first inventory, makes some 150,000 objects that
live on (guests, disks, running copies, inventory entries) and almost no garbage: the
collections their allocations set off found 525 objects to free among them, but each
full one walked every object of the process again, modules included. Measured on the
10,000-guest demo's start (issue 12): three full collections before the first screen,
a quarter of the start's CPU time in the collector. Paused, the build's objects are
looked at once, by the first collection after it.

Looked at once is still too often at that size: that first young collection and the
middle one after it walked some 190,000 objects, 0.12-0.14 s of the same start's CPU.
So a pause that leaves more than `FREEZE_ABOVE` young objects ends with `gc.freeze()`
(the gc module: "move them to a permanent generation and ignore them in all the future
collections"): what it built lives as long as the simulator or its inventory, and is
never walked again; refcounting still frees each object when it goes, as a poll
replaces an entry. Measured on the same start: 0.17-0.2 s in the collector before the
first screen, 0.025 s with the freeze.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0  # builds under way, in any thread
_resume = False  # whether the collector was on when the first of them began
# Young objects (allocated and still alive since the last collection) above which the end
# of a pause freezes them. Measured: a 10,000-guest build leaves ~118,000, its first
# inventory ~68,000; its next polls and the classic lab's build and polls a few hundred,
# which a young collection walks in well under a millisecond: those are not frozen.
FREEZE_ABOVE = 20_000


@contextmanager
def collector_paused() -> Iterator[None]:
    """Automatic collection off for the `with` block, then back as it was: on only if
    it was on before the outermost of overlapping pauses (the poll thread's inventory
    may overlap a build in another thread). `gc.collect()` still works inside.

    When the outermost pause ends with the collector to be turned back on and more than
    `FREEZE_ABOVE` young objects alive, every tracked object is frozen first
    (`gc.freeze()`). Cyclic garbage alive at that moment, in any thread, is then kept
    for good: a one-time cost, bounded by what the process holds then."""
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
                if gc.get_count()[0] > FREEZE_ABOVE:
                    gc.freeze()
                gc.enable()
