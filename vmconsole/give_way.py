"""Keys first: a poll's long loops step aside while a console handles a key.

Python runs one thread at a time (the GIL). A poll of 10,000 simulated guests is tens of
milliseconds of pure Python in the poll thread, and a key that a console handles
meanwhile shares the interpreter with it, the two swapped every millisecond
(`sys.setswitchinterval`, `ui.launch`): such a key took about twice as long to reach the
screen, and those keys were the slowest twentieth at 10,000 guests (issue 12). So a
console says while a key is under way (`key_started` ... `key_ended`, from its key
order: until the key has taken effect and been drawn), and the loops of a poll over
every object call `give_way()` every few hundred of them: inside `stepping_aside`, it
waits while any key is under way, for at most the budget given there in all, so that
however fast thirty served consoles type, a poll ends no more than that late.

Outside `stepping_aside` (any other thread, or a poll run by a test or the HA manager)
`give_way()` returns at once. Used from any thread; the state is the process's, as the
GIL is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: Objects handled between two `give_way()` calls in a loop over every guest: a few
#: hundred microseconds of a poll's work at most, against the millisecond-scale key.
EVERY = 256

_keys = 0
_lock = threading.Lock()
_no_key = threading.Event()
_no_key.set()
_budget = threading.local()


def key_started() -> None:
    """A console has taken a key (a paste) and handles it: polls step aside until the
    matching `key_ended`."""
    global _keys
    with _lock:
        _keys += 1
        _no_key.clear()


def key_ended() -> None:
    """The key of a `key_started` has taken effect (or its console has closed)."""
    global _keys
    with _lock:
        _keys = max(0, _keys - 1)
        if not _keys:
            _no_key.set()


@contextmanager
def stepping_aside(budget: float) -> Iterator[None]:
    """In this thread, `give_way()` waits for keys under way, `budget` seconds in all
    (for one poll)."""
    _budget.seconds = budget
    try:
        yield
    finally:
        _budget.seconds = 0.0


def give_way() -> None:
    """Wait while a console handles a key, within what is left of this thread's budget
    (`stepping_aside`); at once when no key is under way or no budget is left."""
    if _no_key.is_set():
        return
    left = getattr(_budget, "seconds", 0.0)
    if left <= 0.0:
        return
    started = time.monotonic()
    _no_key.wait(left)
    _budget.seconds = left - (time.monotonic() - started)
