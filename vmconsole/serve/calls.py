"""A session process's calls to the server's hubs: one socket, any thread, each call
waiting for its reply by id (`CallChannel`). The backends and poll loops a session sees
(`serve/remote.py`) make every call that is not answered locally through it."""

from __future__ import annotations

import contextlib
import itertools
import logging
import socket
import threading
from concurrent.futures import Future
from typing import Any

from vmconsole.backends import base
from vmconsole.backends.base import BackendError
from vmconsole.serve import wire

log = logging.getLogger(__name__)

CALL_TIMEOUT = 120.0  # seconds; a backend's own calls time out sooner


class CallChannel:
    """Calls to the server over one socket, from any thread: each waits for its reply,
    which a reader thread hands over by call id.

    A call waiting is in `_pending` until the reader takes it out to answer it (or to
    fail it, when the server is gone): a reply and the socket's end arriving together
    (a session ending) once had the reader fail a call it had just answered, whose
    caller had not yet taken it out, and die with "Exception in thread calls".

    A console drawn before its user logged in (pool.py) is not answered until it is
    taken (the server serves a session's calls): its calls wait for that
    (`answered_from_now`), and their time limit counts from then. A failover's events
    start a measurement in such a console, whose first call (the simulator's clock)
    otherwise failed 120 s after the console was drawn, unanswered, and a viewer who
    took it after that saw the measurement "starting…" for good."""

    def __init__(self, sock: socket.socket, answered: bool = True) -> None:
        """`answered`: the server answers now (False for a console drawn in advance)."""
        self._sock = sock
        self._answered = threading.Event()
        if answered:
            self._answered.set()
        self._send_lock = threading.Lock()
        self._pending: dict[int, Future[Any]] = {}
        self._gone = False  # the reader has ended: no answer will come
        self._ids = itertools.count(1)
        self._reader = threading.Thread(target=self._read, daemon=True, name="calls")
        self._reader.start()

    def call(self, cluster: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Run `method` on the hub of `cluster` and return its value; raises the
        backend's error (by kind), or BackendError when the server is gone."""
        call_id = next(self._ids)
        future: Future[Any] = Future()
        self._pending[call_id] = future
        try:
            if self._gone:  # after the reader failed the calls waiting, if it did
                raise BackendError("the server is gone")
            self._send(call_id, cluster, method, args, kwargs)
            self._answered.wait()
            return future.result(CALL_TIMEOUT)
        except TimeoutError:
            raise BackendError(f"{method}: no answer from the server in "
                               f"{CALL_TIMEOUT:g} s") from None
        finally:
            self._pending.pop(call_id, None)

    def answered_from_now(self) -> None:
        """The server answers this process's calls from now on (its console is taken)."""
        self._answered.set()

    def notify(self, cluster: str, method: str, *args: Any) -> None:
        """A call whose answer no one waits for (a poll now, please)."""
        self._send(0, cluster, method, args, {})

    def _send(self, call_id: int, cluster: str, method: str, args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> None:
        data = wire.frame(wire.Kind.CALL, wire.dumps((call_id, cluster, method, args,
                                                      kwargs)))
        try:
            with self._send_lock:
                self._sock.sendall(data)
        except OSError as exc:
            raise BackendError(f"the server is gone: {exc}") from None

    def close(self) -> None:
        """End the channel: the reader sees the socket's end and stops (within 1 s),
        failing the calls still waiting. A process calls this before it exits, so that
        no reader is left reading while the interpreter tears itself down."""
        with contextlib.suppress(OSError):  # already shut or closed
            self._sock.shutdown(socket.SHUT_RDWR)
        if self._reader is not threading.current_thread():
            self._reader.join(1.0)

    def _read(self) -> None:
        try:
            while True:
                length, kind = wire.parse_header(self._recv(wire.HEADER.size))
                payload = self._recv(length)
                if kind is not wire.Kind.REPLY:
                    continue
                call_id, ok, value = wire.loads(payload)
                future = self._pending.pop(call_id, None)  # None: its caller gave up
                if future is not None:
                    future.set_result(value) if ok else future.set_exception(_error(value))
        except (OSError, EOFError, wire.FrameError):
            pass
        except Exception:  # a reply that cannot be read: the server's bug, said once
            log.exception("the server's reply could not be read; calls end here")
        self._gone = True
        self._answered.set()  # no answer will come: the calls waiting fail below
        while self._pending:
            try:
                _, future = self._pending.popitem()
            except KeyError:  # its caller took it out meanwhile (it timed out)
                break
            future.set_exception(BackendError("the server is gone"))

    def _recv(self, size: int) -> bytes:
        chunks, left = [], size
        while left:
            chunk = self._sock.recv(min(left, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


def _error(value: tuple[str, str, dict[str, str]]) -> BackendError:
    kind, message, fields = value
    cls = getattr(base, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, BackendError)):
        cls = BackendError
    if cls is base.InvalidInput:
        return base.InvalidInput(message, fields)
    return cls(message)
