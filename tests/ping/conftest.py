"""Loopback servers and helpers for the ping tests. Probes go to 127.0.0.1 only."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from vmconsole.backends.base import NotFound
from vmconsole.monitor.ping import Measurement, Outage, PingMonitor, PingSnapshot, ProbeError
from vmconsole.monitor.ping.netns import enter_netns
from vmconsole.monitor.ping.probers import open_icmp_socket


def edge_gaps(snapshot: PingSnapshot, outage: Outage) -> float:
    """Seconds by which OUTAGE's downtime may exceed the real one: the gap from its last
    reply to the first lost probe, plus the gap from the last lost probe to the first
    reply. Each is one probe interval on a quiet machine; a probe thread kept from
    running stretches them (at 10x simulated time, 50 ms of real delay is 0.5 s)."""
    assert outage.end is not None
    first_lost = min(s.sent for s in snapshot.samples if s.sent > outage.start)
    return (first_lost - outage.start) + (outage.end - outage.last_lost)


def wait_for(condition: Callable[[], object], seconds: float = 10.0,
             what: str = "the condition", seen: Callable[[], object] | None = None) -> None:
    """Block until `condition()` holds, looking every 10 ms (a probe interval); fails
    after `seconds`, saying `what` was awaited and, if given, what `seen()` shows."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            shown = f"; seen: {seen()!r}" if seen is not None else ""
            raise AssertionError(f"not within {seconds} s: {what}{shown}")
        time.sleep(0.01)


def counts(measurement: Measurement) -> str:
    """What a wait that failed shows of MEASUREMENT: its counts, not its samples."""
    snap = measurement.snapshot()
    lost = snap.ongoing.lost if snap.ongoing else 0
    return (f"{snap.sent} sent, {snap.received} received, {lost} lost now, "
            f"{len(snap.outages)} outages ended, {measurement.in_flight} in flight")


class FakeSim:
    """Answers probe() for guest "qemu/100" except between down_at and up_at (sim time).

    Its clock runs `scale` times faster than real time, from an epoch-like start, as the
    simulator's does for a teacher at 10x.
    """

    RTT = 0.0004  # seconds: what a probe answered takes

    def __init__(self, scale: float, down_at: float, up_at: float) -> None:
        self._scale = scale
        self._real0 = time.monotonic()
        self._sim0 = 1_700_000_000.0
        self._anchor = (self._real0, self._sim0)  # re-anchored when the scale changes
        self.down_at, self.up_at = self._sim0 + down_at, self._sim0 + up_at

    @property
    def time_scale(self) -> float:
        return self._scale

    def set_time_scale(self, scale: float) -> None:
        self._anchor = (time.monotonic(), self.now())  # no jump, as RealClock
        self._scale = scale

    def now(self) -> float:
        real, sim = self._anchor
        return sim + (time.monotonic() - real) * self._scale

    def probe(self, guest_id: str) -> float | None:
        if guest_id != "qemu/100":
            raise NotFound(f"no guest {guest_id}")
        return None if self.down_at <= self.now() < self.up_at else self.RTT


class TcpServer:
    """A TCP listener that accepts and closes, and can go away for a while.

    With NETNS it listens inside that namespace: a short-lived thread enters it and opens
    the socket, which then belongs to it whichever thread accepts.
    """

    def __init__(self, host: str = "127.0.0.1", netns: str | None = None) -> None:
        self.host, self.netns = host, netns
        self.port = 0
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.open()

    def _bind(self, made: list[socket.socket]) -> None:
        if self.netns:
            enter_netns(self.netns)
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(512)
        made.append(listener)

    def open(self) -> None:
        made: list[socket.socket] = []
        opener = threading.Thread(target=self._bind, args=(made,))
        opener.start()
        opener.join(5)
        [listener] = made
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        if self._thread is not None:
            self._thread.join(2)

    @staticmethod
    def _accept(listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.close()


@pytest.fixture
def tcp_server() -> Iterator[TcpServer]:
    server = TcpServer()
    yield server
    server.close()


@pytest.fixture
def monitor() -> Iterator[PingMonitor]:
    mon = PingMonitor()
    yield mon
    mon.stop_all()


@pytest.fixture
def icmp_allowed() -> None:
    try:
        open_icmp_socket().close()
    except ProbeError as exc:
        pytest.skip(f"ICMP not allowed here: {exc}")
