"""A running guest's serial console as a byte stream, for the console's terminal pane.

A backend that has one (`SupportsSerialConsole`) opens it with a `ConsoleSink`: the
bytes the guest writes and the stream's end are handed to the sink on a backend
thread, and the `ConsoleStream` it returns takes the user's keys without blocking.
libvirt opens `virDomainOpenConsole`'s stream (backends/libvirt/console.py), Proxmox its
`termproxy` websocket (backends/proxmox/termproxy.py). What the guest writes is
untrusted: the UI renders it through a terminal emulator, never to the terminal itself.
"""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

from vmconsole.backends.base import Conflict
from vmconsole.config import ClusterConfig

#: The most bytes handed to a sink at once: a guest that floods its console is read in
#: slices, each rendered before the next is taken.
READ_CHUNK = 64 * 1024


class ConsoleBusy(Conflict):
    """Another client holds the console (libvirt lets one stream open a console at a
    time): opening it with `force` takes it over and ends the other."""


class ConsoleSink(Protocol):
    """Where a console's output goes. Both methods are called on a backend thread and
    must not block."""

    def received(self, data: bytes) -> None:
        """Bytes the guest wrote, as they came (any encoding, any control)."""
        ...

    def ended(self, reason: str) -> None:
        """The stream ended, for `reason` ("detached", "the guest closed its console",
        the backend's error); called once, and nothing is received after it."""
        ...


class ConsoleStream(Protocol):
    """An open console. Every method returns at once: the work is done on the stream's
    own thread."""

    @property
    def device(self) -> str:
        """The guest's device read ("serial0", "console"), as its backend names it."""
        ...

    def send(self, data: bytes) -> None:
        """Queue bytes for the guest (keys typed, a paste). Ignored after the end."""
        ...

    def resize(self, columns: int, rows: int) -> None:
        """Tell the far end the terminal's size, where the protocol carries it
        (termproxy does; a serial line does not, and the call is then ignored)."""
        ...

    def close(self) -> None:
        """Detach: the sink's `ended("detached")` follows, unless it ended before."""
        ...


@runtime_checkable
class SupportsSerialConsole(Protocol):
    """A guest's serial console, read and typed into from the console's own screen."""

    @property
    def cfg(self) -> ClusterConfig:
        """The profile's cluster: a served session's process opens its own backend from
        it for a console (a stream cannot go through the server's call socket)."""
        ...

    def open_console(self, guest_id: str, sink: ConsoleSink,
                     force: bool = False) -> ConsoleStream:
        """Open the console of the running guest `guest_id`, its output going to `sink`.
        Blocks up to the backend's timeout (run it in a worker). Raises NotSupported
        when the guest has no serial console (with how to add one), Conflict when it
        does not run, ConsoleBusy when another client has it and `force` is False,
        Unreachable and BackendError in the backend's words."""
        ...


class EndOnce:
    """A sink's `ended` called once, whichever thread sees the end first (the reader,
    a failed write, or `close`)."""

    def __init__(self, sink: ConsoleSink) -> None:
        self._sink = sink
        self._lock = threading.Lock()
        self.done = False

    def __call__(self, reason: str) -> bool:
        """End with `reason`; False when the stream had ended already."""
        with self._lock:
            if self.done:
                return False
            self.done = True
        self._sink.ended(reason)
        return True
