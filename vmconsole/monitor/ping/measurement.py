"""A ping measurement (one target, its outages, statistics and event markers) and the monitor
that runs measurements on the shared engines."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from vmconsole.backends.abilities import SupportsTimeControl
from vmconsole.backends.base import BackendError
from vmconsole.monitor.ping.detector import Outage, OutageDetector, ProbeResult, RttStats
from vmconsole.monitor.ping.engine import Engine
from vmconsole.monitor.ping.failures import Failure, from_failure
from vmconsole.monitor.ping.probers import ENGINES
from vmconsole.monitor.ping.targets import ProbeKind, ProbeTarget
from vmconsole.text import visible

MIN_INTERVAL = 0.01
MAX_INTERVAL = 60.0
MAX_TIMEOUT = 10.0
# Every measurement is bounded: with neither a count nor a duration it ends after an hour.
DEFAULT_DURATION = 3600.0
KEEP_SAMPLES = 20_000  # 200 s at 10 ms for the chart; outages and stats cover everything
KEEP_MARKERS = 1_000


def default_timeout(interval: float) -> float:
    """When a probe counts as lost: twice the interval, at least 100 ms.

    Probes do not wait for each other, so the timeout does not limit the gaps that can
    be seen; it only decides how late a reply may be and still count, and how soon an
    outage shows while it lasts.
    """
    return min(MAX_TIMEOUT, max(0.1, 2 * interval))


@dataclass(frozen=True, slots=True)
class Marker:
    """An event on the time axis, e.g. "migration started" (time in the measurement's
    clock); `failure`: how it stands for the guest's loss, if it does (an outage under
    way at the first probe is counted from such a marker: `failures.from_failure`)."""

    time: float
    label: str
    failure: Failure | None = None


@dataclass(frozen=True, slots=True)
class PingSnapshot:
    """A measurement's state at one moment, for a chart or a summary (times in its clock;
    `now`: its clock's time, or for one that has ended the time it ended)."""

    target: ProbeTarget
    interval: float
    started: float
    now: float
    running: bool
    sent: int
    received: int
    rtt: RttStats
    outages: tuple[Outage, ...]
    ongoing: Outage | None
    samples: tuple[ProbeResult, ...]
    markers: tuple[Marker, ...]

    @property
    def lost(self) -> int:
        return self.sent - self.received

    @property
    def covers_from(self) -> float:
        """Where a chart of the whole measurement begins: its start, or the earlier
        failure its first outage is counted from."""
        first = self.outages[0] if self.outages else self.ongoing
        return self.started if first is None else min(self.started, first.start)

    @property
    def loss(self) -> float:
        """Lost probes as a fraction of those sent (0 before any)."""
        return self.lost / self.sent if self.sent else 0.0


def _standing_when_unread(read: Callable[[], float]) -> Callable[[], float]:
    """The simulator's clock as `read` gives it, in seconds, where a read that fails
    with BackendError (a served console's call to the server) gives the last time read:
    the measurement stands still, no probe goes out while its clock has not moved
    (`SimEngine`), and its panel keeps drawing, rather than the engine's thread ending
    every measurement on the error. The first read's error is raised: a measurement
    does not start without its clock."""
    last = read()

    def now() -> float:
        nonlocal last
        with contextlib.suppress(BackendError):
            last = read()
        return last

    return now


def _real_clock() -> Callable[[], float]:
    """Epoch seconds that advance with time.monotonic (no jumps when NTP steps)."""
    offset = time.time() - time.monotonic()
    return lambda: time.monotonic() + offset


class Measurement:
    """Probes one target at a fixed rate until its count or duration is reached, or stop().

    The engine thread calls the methods under "engine side"; everything else may be
    called from any thread. `on_outage` runs on the engine thread as each outage ends.
    """

    def __init__(self, target: ProbeTarget, *, interval: float, timeout: float,
                 count: int | None, duration: float | None, min_lost: int = 1,
                 keep_samples: int = KEEP_SAMPLES,
                 on_outage: Callable[[Outage], None] | None = None) -> None:
        self.target = target
        self.interval = interval
        self.timeout = timeout
        self.count = count
        self.duration = duration
        self.on_outage = on_outage
        if target.kind is ProbeKind.SIM and isinstance(target.source, SupportsTimeControl):
            self.clock: Callable[[], float] = _standing_when_unread(target.source.now)
        else:
            self.clock = _real_clock()
        self.started = self.clock()
        self.in_flight = 0  # engine side only
        self.last_sent: float | None = None  # engine side: its clock at the last probe
        self._detector = OutageDetector(min_lost, keep_samples)
        self._markers: deque[Marker] = deque(maxlen=KEEP_MARKERS)
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._stop = False
        self._stop_seen = False
        self._next_seq = 0
        self._ends_at: float | None = None
        self._finished_at: float | None = None  # its clock when it ended
        self.done_sending = False

    # --- for everyone -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def stop(self) -> None:
        """End the measurement; probes still in flight are not counted."""
        self._stop = True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the measurement has ended; False if TIMEOUT passed first."""
        return self._done.wait(timeout)

    def mark(self, label: str, at: float | None = None,
             failure: Failure | None = None) -> None:
        """Put an event marker on the time axis (default: now, in the measurement's clock);
        FAILURE: how the event stands for the guest's loss, if it does. The label is
        drawn through plotext and read back as ANSI, so it is kept as
        `vmconsole.text.visible()` makes it: no escape of a name can style or move it."""
        with self._lock:
            self._markers.append(Marker(self.clock() if at is None else at, visible(label),
                                        failure))

    def snapshot(self) -> PingSnapshot:
        """Outages as `from_failure` counts them. An ended measurement's `now` is its
        clock when it ended: a simulated guest's clock runs on, and a chart of the last
        minutes of that clock, long after the end, had nothing in it to draw."""
        d = self._detector
        with self._lock:
            ongoing = d.ongoing()
            now = self.clock() if self._finished_at is None else self._finished_at
            return PingSnapshot(
                target=self.target, interval=self.interval, started=self.started,
                now=now, running=self.running, sent=d.sent, received=d.received,
                rtt=d.rtt, outages=tuple(from_failure(o, self._markers) for o in d.outages),
                ongoing=None if ongoing is None else from_failure(ongoing, self._markers),
                samples=tuple(d.samples), markers=tuple(self._markers))

    # --- engine side --------------------------------------------------------------------

    @property
    def stop_requested(self) -> bool:
        return self._stop and not self._stop_seen

    def stop_acknowledged(self) -> None:
        self._stop_seen = True
        self.done_sending = True

    def begin(self, now: float) -> None:
        if self.duration is not None:
            self._ends_at = now + self.duration

    def next_seq(self, now: float) -> int | None:
        """The sequence number of the probe to send now, or None when sending is over."""
        if (self._stop or (self.count is not None and self._next_seq >= self.count)
                or (self._ends_at is not None and now >= self._ends_at)):
            self.done_sending = True
            return None
        seq = self._next_seq
        self._next_seq += 1
        return seq

    def record(self, result: ProbeResult) -> None:
        with self._lock:
            closed = self._detector.add(result)
        self._announce(closed)

    def abandon(self, seq: int) -> None:
        with self._lock:
            closed = self._detector.abandon(seq)
        self._announce(closed)

    def finish(self) -> None:
        at = self.clock()  # a simulator's clock may be a call to a server: not under the lock
        with self._lock:
            self._finished_at = at
            self._done.set()

    def _announce(self, closed: list[Outage]) -> None:
        if self.on_outage is not None:
            for outage in closed:
                with self._lock:
                    counted = from_failure(outage, self._markers)
                self.on_outage(counted)


class PingMonitor:
    """Starts measurements on one engine thread per (probe kind, network namespace)."""

    def __init__(self) -> None:
        self._engines: dict[tuple[ProbeKind, str | None], Engine] = {}
        self._measurements: list[Measurement] = []
        self._lock = threading.Lock()

    def start(self, target: ProbeTarget, *, interval: float = 0.01,
              timeout: float | None = None, count: int | None = None,
              duration: float | None = None, min_lost: int = 1,
              keep_samples: int = KEEP_SAMPLES,
              on_outage: Callable[[Outage], None] | None = None) -> Measurement:
        """Start probing TARGET. Raises ValueError for bad settings and ProbeError (or
        NetnsError) when the target cannot be probed at all (no privilege, no namespace)."""
        if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
            raise ValueError(f"interval must be between {MIN_INTERVAL} and {MAX_INTERVAL} s")
        timeout = default_timeout(interval) if timeout is None else timeout
        if not 0 < timeout <= MAX_TIMEOUT:
            raise ValueError(f"timeout must be above 0 and at most {MAX_TIMEOUT} s")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1")
        # `not 0 < x < inf` refuses nan too, which every comparison fails: a duration
        # of nan or inf was accepted and the measurement never ended.
        if duration is not None and not 0 < duration < math.inf:
            raise ValueError("duration must be a number of seconds above 0")
        if count is None and duration is None:
            duration = DEFAULT_DURATION
        measurement = Measurement(target, interval=interval, timeout=timeout, count=count,
                              duration=duration, min_lost=min_lost,
                              keep_samples=keep_samples, on_outage=on_outage)
        key = (target.kind, target.netns)
        with self._lock:
            engine = self._engines.get(key)
            if engine is None or not engine.is_alive():
                engine = ENGINES[target.kind](target.netns, self._retire)
                engine.start_and_wait()
                self._engines[key] = engine
            engine.add(measurement)
            self._measurements = [s for s in self._measurements if s.running] + [measurement]
        return measurement

    def stop_all(self, wait: float = 2.0) -> None:
        """Stop every measurement and wait up to WAIT seconds for their engines to end."""
        with self._lock:
            measurements, engines = list(self._measurements), list(self._engines.values())
        for measurement in measurements:
            measurement.stop()
        deadline = time.monotonic() + wait
        for engine in engines:
            engine.join(max(0.0, deadline - time.monotonic()))

    def _retire(self, engine: Engine) -> bool:
        with self._lock:
            if engine.has_inbox():
                return False
            key = next((k for k, e in self._engines.items() if e is engine), None)
            if key is not None:
                del self._engines[key]
            return True
