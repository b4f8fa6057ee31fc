"""One opening of a guest's serial console, apart from the screen that shows it: the
stream, the terminal buffer the guest's output is fed into, and the audit records of
its start and its end (written even when the screen is gone by then).

The backend calls `received` and `ended` on its own threads; the screen learns of them
through the `on_output` and `on_end` callbacks, which must be thread-safe (the screen
passes its `post_message`). Audit records are written on threads of their own: an
`ended` may come on the UI's thread (a detach) or on libvirt's event loop thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum

from vmconsole.backends.base import Backend, BackendError
from vmconsole.backends.serial import ConsoleStream, SupportsSerialConsole
from vmconsole.ui.terminal import TerminalBuffer

AUDITED_AS = "console"


class ConsoleMode(StrEnum):
    INTERACTIVE = "interactive"  # keys go to the guest (operator and admin)
    READ_ONLY = "read-only"  # output only (a viewer, where the config allows it)


# (cluster, target, operation, result, parameters): one audit record (Operations.record)
AuditWriter = Callable[[str, str, str, str, dict[str, object]], None]


class SerialLink:
    """The `ConsoleSink` of one console opening, and what it needs to audit it."""

    def __init__(self, cluster: str, guest_id: str, mode: ConsoleMode,
                 audit: AuditWriter, on_output: Callable[[], object],
                 on_end: Callable[[str], object]) -> None:
        self.cluster, self.guest_id, self.mode = cluster, guest_id, mode
        self.buffer = TerminalBuffer()
        self.stream: ConsoleStream | None = None
        self._audit, self._on_output, self._on_end = audit, on_output, on_end
        self._lock = threading.Lock()
        self._output_posted = threading.Event()
        self._started_at: float | None = None
        self._end_reason: str | None = None
        self._detached = False
        self._parameters: dict[str, object] = {"mode": str(mode)}

    # --- ConsoleSink (backend threads) ----------------------------------------------

    def received(self, data: bytes) -> None:
        self.buffer.feed(data)
        # One message until the screen has drawn: a flood is drawn as often as the UI
        # can, not once per chunk.
        if not self._output_posted.is_set():
            self._output_posted.set()
            self._on_output()

    def ended(self, reason: str) -> None:
        with self._lock:
            self._end_reason = reason
            started = self._started_at is not None
        if started:
            self._write_end()
        self._on_end(reason)

    # --- the screen's side ----------------------------------------------------------

    def drawn(self) -> None:
        """The screen drew the buffer: the next output posts again."""
        self._output_posted.clear()

    def open(self, backend: Backend, force: bool = False) -> None:
        """In a worker thread: open the stream, then audit the start (or the refusal,
        in the backend's words, re-raised for the screen). A detach asked for while the
        stream was opening closes it at once."""
        if force:
            self._parameters["take_over"] = True
        try:
            if not isinstance(backend, SupportsSerialConsole):
                raise BackendError("this backend has no serial console")
            stream = backend.open_console(self.guest_id, self, force)
        except Exception as exc:  # a backend's bug is audited as a failure too
            message = exc.message if isinstance(exc, BackendError) else f"internal error: {exc}"
            self._audit(self.cluster, self.guest_id, AUDITED_AS, f"error: {message}",
                        dict(self._parameters))
            raise
        self._parameters["device"] = stream.device
        self._audit(self.cluster, self.guest_id, AUDITED_AS, "started",
                    dict(self._parameters))
        with self._lock:
            self.stream = stream
            self._started_at = time.monotonic()
            ended_already = self._end_reason is not None
            detached = self._detached
        if ended_already:
            self._write_end()
        elif detached:
            stream.close()

    def send(self, data: bytes) -> None:
        """Keys for the guest; dropped in a read-only session and before the open."""
        if self.mode is ConsoleMode.INTERACTIVE and self.stream is not None:
            self.stream.send(data)

    def resize(self, columns: int, rows: int) -> None:
        """The pane's size in cells: the emulator's, and the far end's (termproxy sizes
        the guest's terminal to it) unless read-only, which changes nothing there."""
        self.buffer.resize(columns, rows)
        if self.mode is ConsoleMode.INTERACTIVE and self.stream is not None:
            self.stream.resize(columns, rows)

    def detach(self) -> None:
        """Close the stream (its `ended("detached")` audits the end), now or as soon as
        it is open."""
        with self._lock:
            self._detached = True
            stream = self.stream
        if stream is not None:
            stream.close()

    def _write_end(self) -> None:
        with self._lock:
            reason, started = self._end_reason, self._started_at
        seconds = round(time.monotonic() - started, 1) if started is not None else 0.0
        parameters = {**self._parameters, "seconds": seconds}
        threading.Thread(target=self._audit, name="audit-console", args=(
            self.cluster, self.guest_id, AUDITED_AS, f"ended: {reason}", parameters)).start()
