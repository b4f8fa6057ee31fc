"""The fixed-rate scheduler that every prober shares.

One engine thread serves all measurements of one probe kind in one network namespace: it
sends each measurement's probes on its own fixed-rate grid, waits for replies on every
socket at once, and declares a probe lost at its timeout. Sending never waits for a
reply, so a lost reply cannot delay the next probe, and many targets cost one thread
(and, for ICMP, one socket: a raw socket sees every ICMP packet of its namespace, so
one socket per target would multiply the work by the number of targets).

The kinds (ICMP, TCP, simulator) differ only in `_open`, `_send`, `_wait` and
`_forget`; see probers.py.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vmconsole.monitor.ping.detector import ProbeResult
from vmconsole.monitor.ping.netns import enter_netns

if TYPE_CHECKING:
    from vmconsole.monitor.ping.measurement import Measurement

# The longest the engine sleeps, and how often it looks for stopped or finished
# measurements: a stop or a new measurement is seen within this time.
_MAX_WAIT = 0.05


@dataclass(slots=True)
class Pending:
    """A probe in flight."""

    measurement: Measurement
    seq: int
    sent: float  # the target's clock
    sent_mono: float
    deadline: float  # monotonic


class Engine(threading.Thread):
    """Runs the probes of many measurements of one kind from one thread."""

    def __init__(self, netns: str | None, on_idle: Callable[[Engine], bool]) -> None:
        super().__init__(name=f"ping-{type(self).__name__}-{netns or 'root'}", daemon=True)
        self.netns = netns
        self._on_idle = on_idle  # asks the monitor to retire us; False if work arrived
        self._inbox: list[Measurement] = []
        self._inbox_lock = threading.Lock()
        self._wakeup = threading.Event()
        self._ready = threading.Event()
        self._error: Exception | None = None
        self._due: list[tuple[float, int, Measurement]] = []  # (next send, tie, measurement)
        self._pending: dict[int, Pending] = {}
        self._deadlines: list[tuple[float, int]] = []  # (deadline, key), lazily pruned
        self._tie = itertools.count()
        self._measurements: set[Measurement] = set()  # the thread's own

    # --- called by the monitor, from any thread -----------------------------------------

    def start_and_wait(self, timeout: float = 5.0) -> None:
        """Start the thread; raise what stopped it from opening its sockets."""
        self.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"{self.name} did not start in {timeout} s")
        if self._error is not None:
            raise self._error

    def add(self, measurement: Measurement) -> None:
        with self._inbox_lock:
            self._inbox.append(measurement)
        self._wakeup.set()

    def has_inbox(self) -> bool:
        with self._inbox_lock:
            return bool(self._inbox)

    # --- the thread ---------------------------------------------------------------------

    def run(self) -> None:
        try:
            if self.netns:
                enter_netns(self.netns)
            self._open()
        except Exception as exc:  # handed to start_and_wait, which raises it to the caller
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop()
        except BaseException:
            # A bug must not leave measurements waiting forever: end them, then let the
            # thread's exception hook report it.
            self._on_idle(self)
            with self._inbox_lock:
                self._measurements.update(self._inbox)
            for measurement in self._measurements:
                measurement.finish()
            raise
        finally:
            self._close()

    def _loop(self) -> None:
        measurements = self._measurements
        next_review = 0.0
        while True:
            self._take_inbox(measurements)
            now = time.monotonic()
            self._send_due(now)
            self._expire(now)
            if now >= next_review:  # not on every turn: with 50 targets the loop spins fast
                next_review = now + _MAX_WAIT
                self._review(measurements)
                if not measurements and self._on_idle(self):
                    return
            self._wait(self._wait_time(time.monotonic()))

    def _review(self, measurements: set[Measurement]) -> None:
        for measurement in [s for s in measurements if s.stop_requested]:
            self._drop(measurement)
        for measurement in [s for s in measurements if s.done_sending and not s.in_flight]:
            measurements.discard(measurement)
            measurement.finish()

    def _take_inbox(self, measurements: set[Measurement]) -> None:
        with self._inbox_lock:
            new, self._inbox = self._inbox, []
        now = time.monotonic()
        for measurement in new:
            measurements.add(measurement)
            measurement.begin(now)
            heapq.heappush(self._due, (now, next(self._tie), measurement))

    def _send_due(self, now: float) -> None:
        while self._due and self._due[0][0] <= now:
            due, _, measurement = heapq.heappop(self._due)
            if measurement.done_sending:
                continue  # stopped while its clock held it: it leaves the grid
            if not self._holds(measurement):
                seq = measurement.next_seq(now)
                if seq is None:
                    continue  # done sending or stopped: it leaves the grid
                self._send(measurement, seq, now)
            # Fixed rate: the grid does not drift with send time; a late loop skips the
            # slots it missed instead of sending a burst to catch up.
            interval = measurement.interval
            missed = max(0, int((now - due) / interval))
            heapq.heappush(self._due, (due + (missed + 1) * interval, next(self._tie), measurement))

    def _expire(self, now: float) -> None:
        if self._deadlines and self._deadlines[0][0] <= now:
            # Replies may be waiting in a socket while this thread was kept from running:
            # they arrived in time and must not be taken for losses.
            self._drain()
        while self._deadlines and self._deadlines[0][0] <= now:
            _, key = heapq.heappop(self._deadlines)
            if key in self._pending:
                self._forget(key)
                self.resolve(key, None)

    def _drop(self, measurement: Measurement) -> None:
        """A stopped measurement: its probes in flight will never be counted."""
        for key in [k for k, p in self._pending.items() if p.measurement is measurement]:
            pending = self._pending.pop(key)
            self._forget(key)
            measurement.in_flight -= 1
            measurement.abandon(pending.seq)
        measurement.stop_acknowledged()

    def _wait_time(self, now: float) -> float:
        until = now + _MAX_WAIT
        if self._due:
            until = min(until, self._due[0][0])
        while self._deadlines and self._deadlines[0][1] not in self._pending:
            heapq.heappop(self._deadlines)
        if self._deadlines:
            until = min(until, self._deadlines[0][0])
        return max(0.0, until - now)

    # --- for the kinds ------------------------------------------------------------------

    def track(self, key: int, measurement: Measurement, seq: int, sent: float,
              sent_mono: float) -> None:
        """Remember a probe in flight under KEY until it is answered or times out."""
        deadline = sent_mono + measurement.timeout
        self._pending[key] = Pending(measurement, seq, sent, sent_mono, deadline)
        heapq.heappush(self._deadlines, (deadline, key))
        measurement.in_flight += 1

    def pending(self, key: int) -> Pending | None:
        return self._pending.get(key)

    def resolve(self, key: int, rtt: float | None) -> None:
        """The probe under KEY came back after RTT seconds, or is lost (None)."""
        pending = self._pending.pop(key, None)
        if pending is None:
            return  # a late reply after its timeout, or a stray packet
        pending.measurement.in_flight -= 1
        pending.measurement.record(ProbeResult(pending.seq, pending.sent, rtt))

    def sleep(self, seconds: float) -> None:
        """Wait without sockets, waking early when a measurement arrives."""
        if self._wakeup.wait(seconds):
            self._wakeup.clear()

    def _open(self) -> None:
        """Open sockets (inside the namespace); raise ProbeError if this kind cannot work."""

    def _close(self) -> None:
        """Close what `_open` opened."""

    def _holds(self, measurement: Measurement) -> bool:
        """Whether MEASUREMENT's slot passes without a probe (its clock stands still)."""
        return False

    def _send(self, measurement: Measurement, seq: int, now: float) -> None:
        raise NotImplementedError

    def _wait(self, timeout: float) -> None:
        """Block up to TIMEOUT for replies and `resolve` them."""
        self.sleep(timeout)

    def _drain(self) -> None:
        """Resolve the replies that have already arrived, without waiting."""

    def _forget(self, key: int) -> None:
        """A probe in flight is given up (timeout or stop): release what it holds."""
