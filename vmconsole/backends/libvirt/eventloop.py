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

import logging
import threading

import libvirt

log = logging.getLogger(__name__)

#: How long releasing the last hold waits for the thread to end (seconds): a callback
#: running then (a domain event) takes microseconds; this bounds a stuck one.
STOP_WAIT_S = 5.0

_lock = threading.Lock()
_changed = threading.Condition(_lock)  # told when the thread ends or a hold is taken
_registered = False
_holders = 0
_forever = False
# The one thread running libvirt's loop, from its start until it decides, under _lock,
# that nothing holds the loop any more: a new thread starts only once it has cleared this.
_thread: threading.Thread | None = None


def _ignore_error(_opaque: object, _error: object) -> None:
    """Errors are raised as exceptions and reported by the console; printing them
    as well would write over the terminal UI."""


def _wanted_locked() -> bool:
    return bool(_holders) or _forever


def _run() -> None:
    global _thread
    while True:
        with _lock:
            # Decided here, not by the release: a thread stuck in a callback past the
            # release's wait, then held again, simply goes on (two threads running
            # libvirt's loop at once would each take the other's events).
            if not _wanted_locked():
                _thread = None
                _changed.notify_all()
                return
        libvirt.virEventRunDefaultImpl()


def _wake(timer: int, _opaque: object) -> None:
    """A one-shot timer's callback: its only job was to make the loop iterate."""
    libvirt.virEventRemoveTimeout(timer)


def _start_locked() -> None:
    global _registered, _thread
    if not _registered:  # once per process: libvirt has no way to unregister it
        libvirt.registerErrorHandler(_ignore_error, None)
        libvirt.virEventRegisterDefaultImpl()
        _registered = True
    if _thread is None:
        _thread = threading.Thread(target=_run, name="libvirt-events", daemon=True)
        _thread.start()


def ensure_event_loop() -> None:
    """Run the loop for the rest of the process."""
    global _forever
    with _lock:
        _forever = True
        _start_locked()
        _changed.notify_all()


def hold_event_loop() -> None:
    """Run the loop until the matching `release_event_loop`."""
    global _holders
    with _lock:
        _holders += 1
        _start_locked()
        _changed.notify_all()


def release_event_loop() -> None:
    """Drop one hold; after the last one the thread ends, and this waits up to
    `STOP_WAIT_S` for it (virEventRunDefaultImpl blocks until a handle or timer fires: a
    zero-time timer makes it return, as libvirt's own loop is woken when a timer is
    added). A thread still in a callback after that is logged and left to end by
    itself; a hold taken meanwhile keeps it running rather than starting a second."""
    global _holders
    with _lock:
        _holders = max(0, _holders - 1)
        thread = _thread
        if _wanted_locked() or thread is None:
            return
        libvirt.virEventAddTimeout(0, _wake, None)
        # The wait gives up the lock: the thread takes it to decide whether to end.
        if not _changed.wait_for(lambda: _thread is not thread or _wanted_locked(),
                                 STOP_WAIT_S):
            log.warning("libvirt's event thread did not end within %g s of its last "
                        "release (a callback is still running): it ends when that "
                        "callback returns, or runs on for the next hold", STOP_WAIT_S)
            return
        if _thread is thread:
            return  # held again meanwhile: it runs on
    thread.join()  # it has decided to end, under the lock: only its return is left
