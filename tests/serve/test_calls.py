"""A session's call socket (serve/calls.py, CallChannel) ends quietly: a reply and the
server's end arriving together, or the process closing it at exit, leave no reader
thread dying with "Exception in thread calls" (a served admin's quit once logged one)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest

from vmconsole.backends.base import BackendError
from vmconsole.serve import calls, wire
from vmconsole.serve.calls import CallChannel


class SlowToTake(Future[Any]):
    """A caller descheduled between its answer arriving and taking it, until the
    channel's reader (`reader`, set by the test) has read the session's end: the moment
    that end can fall in, made sure of rather than hoped for."""

    reader: threading.Thread | None = None

    def result(self, timeout: float | None = None) -> Any:
        value = super().result(timeout)
        assert self.reader is not None, "the test names the reader"
        self.reader.join(10)
        assert not self.reader.is_alive(), "the reader never saw the session's end"
        return value


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What would print "Exception in thread ...": each thread's uncaught exception."""
    errors: list[str] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(
        f"{args.thread.name if args.thread else '?'}: {args.exc_type.__name__}"))
    yield errors


def _answer_once_then_end(server: socket.socket) -> None:
    """The server's side: answer the first call, and end at once (the session ends)."""
    header = server.recv(wire.HEADER.size, socket.MSG_WAITALL)
    length, _ = wire.parse_header(header)
    call_id, *_ = wire.load_call(server.recv(length, socket.MSG_WAITALL))
    server.sendall(wire.frame(wire.Kind.REPLY, wire.dumps((call_id, True, "pong"))))
    server.shutdown(socket.SHUT_RDWR)


def test_a_reply_and_the_end_together_leave_the_reader_quiet(
        monkeypatch: pytest.MonkeyPatch, thread_errors: list[str]) -> None:
    monkeypatch.setattr(calls, "Future", SlowToTake)
    ours, theirs = socket.socketpair()
    server = threading.Thread(target=_answer_once_then_end, args=(theirs,))
    server.start()
    try:
        channel = CallChannel(ours)
        monkeypatch.setattr(SlowToTake, "reader", channel._reader)
        assert channel.call("lab", "now") == "pong"
        server.join(5)
        started = time.monotonic()
        with pytest.raises(BackendError, match="the server is gone"):
            channel.call("lab", "now")  # at once, not after CALL_TIMEOUT
        assert time.monotonic() - started < 5
        assert thread_errors == []
        channel.close()
    finally:
        ours.close()
        theirs.close()


def test_closing_the_channel_ends_its_reader_and_fails_a_call_waiting(
        thread_errors: list[str]) -> None:
    """What a session process does before it exits (worker.main)."""
    ours, theirs = socket.socketpair()  # a server that never answers
    try:
        channel = CallChannel(ours)
        failed: list[BaseException] = []

        def waits() -> None:
            try:
                channel.call("lab", "now")
            except BackendError as exc:
                failed.append(exc)

        caller = threading.Thread(target=waits)
        caller.start()
        deadline = time.monotonic() + 5
        while not theirs.recv(wire.HEADER.size, socket.MSG_PEEK):  # the call was sent
            assert time.monotonic() < deadline
        channel.close()
        caller.join(5)
        assert [str(exc) for exc in failed] == ["the server is gone"]
        assert not channel._reader.is_alive()
        assert thread_errors == []
    finally:
        ours.close()
        theirs.close()


def test_a_console_drawn_in_advance_gets_its_answer_once_taken(
        monkeypatch: pytest.MonkeyPatch, thread_errors: list[str]) -> None:
    """The tester's report: a console drawn during pve2's failover started measuring
    db1, whose first call (the simulator's clock) the server answers only once a viewer
    takes the console; taken later than the calls' time limit, its measurement said
    `starting…` for good and the call failed with "now: no answer from the server".
    The limit counts from the console's taking (here 0.3 s, taken after 1 s)."""
    monkeypatch.setattr(calls, "CALL_TIMEOUT", 0.3)
    ours, theirs = socket.socketpair()
    try:
        channel = CallChannel(ours, answered=False)  # a waiting console's (worker.main)
        got: list[object] = []

        def measures() -> None:
            try:
                got.append(channel.call("lab", "now"))
            except BackendError as exc:
                got.append(exc)

        caller = threading.Thread(target=measures)
        caller.start()
        caller.join(1.0)  # the console waits to be taken: its call waits too
        assert got == []
        channel.answered_from_now()  # ATTACH: the server serves its calls from now on
        server = threading.Thread(target=_answer_once_then_end, args=(theirs,))
        server.start()
        caller.join(5)
        server.join(5)
        assert got == ["pong"]
        assert thread_errors == []
        channel.close()
    finally:
        ours.close()
        theirs.close()
