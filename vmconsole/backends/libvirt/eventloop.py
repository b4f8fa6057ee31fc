"""libvirt's default event loop, run in a thread while something needs it.

It must be registered before the first connection opens: keepalive, close callbacks
and domain events all need it. The error handler is replaced at the same time, because
libvirt's default one prints every error to stderr, over the console's screen.

A backend holds the loop while it is open (`hold_event_loop`, `release_event_loop`):
the thread ends when the last backend closes, so a console or a test that closes its
backends leaves no libvirt thread behind. `ensure_event_loop` keeps it for the rest of
the process (the lab's builder, a command that ends with the process).
"""

from __future__ import annotations

import threading

import libvirt

#: How long releasing the last hold waits for the thread to end (seconds): a callback
#: running then (a domain event) takes microseconds; this bounds a stuck one.
STOP_WAIT_S = 5.0

_lock = threading.Lock()
_registered = False
_holders = 0
_forever = False
_thread: threading.Thread | None = None
_stop: threading.Event | None = None


def _ignore_error(_opaque: object, _error: object) -> None:
    """Errors are raised as exceptions and reported by the console; printing them
    as well would write over the terminal UI."""


def _run(stop: threading.Event) -> None:
    while not stop.is_set():
        libvirt.virEventRunDefaultImpl()


def _wake(timer: int, _opaque: object) -> None:
    """A one-shot timer's callback: its only job was to make the loop iterate."""
    libvirt.virEventRemoveTimeout(timer)


def _start_locked() -> None:
    global _registered, _thread, _stop
    if not _registered:  # once per process: libvirt has no way to unregister it
        libvirt.registerErrorHandler(_ignore_error, None)
        libvirt.virEventRegisterDefaultImpl()
        _registered = True
    if _thread is None:
        _stop = threading.Event()
        _thread = threading.Thread(target=_run, args=(_stop,), name="libvirt-events",
                                   daemon=True)
        _thread.start()


def ensure_event_loop() -> None:
    """Run the loop for the rest of the process."""
    global _forever
    with _lock:
        _forever = True
        _start_locked()


def hold_event_loop() -> None:
    """Run the loop until the matching `release_event_loop`."""
    global _holders
    with _lock:
        _holders += 1
        _start_locked()


def release_event_loop() -> None:
    """Drop one hold; the last one ends the thread, waiting up to `STOP_WAIT_S` for it
    (virEventRunDefaultImpl blocks until a handle or timer fires: a zero-time timer
    makes it return, as libvirt's own loop is woken when a timer is added)."""
    global _holders, _thread
    with _lock:
        _holders = max(0, _holders - 1)
        if _holders or _forever or _thread is None or _stop is None:
            return
        thread, _thread = _thread, None
        _stop.set()
        libvirt.virEventAddTimeout(0, _wake, None)
        # Under the lock: a hold taken meanwhile starts a new thread only after this one
        # ended, so that two threads never run libvirt's loop at once.
        thread.join(STOP_WAIT_S)
