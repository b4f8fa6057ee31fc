"""libvirt's default event loop, run once per process in a daemon thread.

It must be registered before the first connection opens: keepalive, close callbacks
and domain events all need it. The error handler is replaced at the same time, because
libvirt's default one prints every error to stderr, over the console's screen.
"""

from __future__ import annotations

import threading

import libvirt

_lock = threading.Lock()
_running = False


def _ignore_error(_opaque: object, _error: object) -> None:
    """Errors are raised as exceptions and reported by the console; printing them
    as well would write over the terminal UI."""


def _run() -> None:
    while True:
        libvirt.virEventRunDefaultImpl()


def ensure_event_loop() -> None:
    global _running
    with _lock:
        if _running:
            return
        libvirt.registerErrorHandler(_ignore_error, None)
        libvirt.virEventRegisterDefaultImpl()
        threading.Thread(target=_run, name="libvirt-events", daemon=True).start()
        _running = True
