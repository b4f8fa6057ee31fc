"""From a stream of probe results to outages and round-trip statistics.

Results may arrive out of order (a lost probe is only known at its timeout, after the
replies to later probes); the detector puts them back in sequence order before it looks
at them. An outage is a run of at least `min_lost` consecutive lost probes; it starts at
the last reply before the run and ends at the first reply after it, as `ping` output
read by a person would say. Shorter runs are counted as lost probes, not outages.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe: its sequence number, when it was sent and its round trip (None: lost).

    Times are in the target's clock, in seconds.
    """

    seq: int
    sent: float
    rtt: float | None

    @property
    def replied(self) -> float | None:
        """When the reply came back, or None for a lost probe."""
        return None if self.rtt is None else self.sent + self.rtt


@dataclass(frozen=True, slots=True)
class Outage:
    """A gap in the replies.

    `start` is the last reply before the gap and `end` the first reply after it. A gap
    at the very beginning (no reply yet) starts at the first lost probe's send time and
    has `start_exact` False, unless it is counted from the failure that caused it: then
    `since` names that event (its words: "power off") and `start` is its time. A gap
    that is still open has `end` None. `downtime` is then a lower bound up to
    `last_lost`, the send time of the latest lost probe.
    """

    start: float
    end: float | None
    lost: int
    last_lost: float
    start_exact: bool = True
    since: str = ""

    @property
    def ongoing(self) -> bool:
        return self.end is None

    @property
    def exact(self) -> bool:
        return self.start_exact and self.end is not None

    @property
    def downtime(self) -> float:
        """Seconds without a reply (a lower bound unless `exact`)."""
        return (self.last_lost if self.end is None else self.end) - self.start


@dataclass(frozen=True, slots=True)
class RttStats:
    """Round-trip times in seconds, like ping's closing line (mdev: standard deviation)."""

    count: int = 0
    min: float = 0.0
    avg: float = 0.0
    max: float = 0.0
    mdev: float = 0.0


class _RttAccumulator:
    """Running min/max/sum/sum of squares, so stats cover the measurement in O(1) memory."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.total_sq = 0.0
        self.min = math.inf
        self.max = 0.0

    def add(self, rtt: float) -> None:
        self.count += 1
        self.total += rtt
        self.total_sq += rtt * rtt
        self.min = min(self.min, rtt)
        self.max = max(self.max, rtt)

    def stats(self) -> RttStats:
        if not self.count:
            return RttStats()
        avg = self.total / self.count
        variance = max(0.0, self.total_sq / self.count - avg * avg)
        return RttStats(self.count, self.min, avg, self.max, math.sqrt(variance))


class OutageDetector:
    """Turns probe results into outages, loss counts and RTT statistics.

    Not thread-safe: the owner (a `Measurement`) serialises calls. Samples are kept in a
    ring buffer of `keep_samples` for charts; outages, counts and statistics cover the
    whole measurement.
    """

    def __init__(self, min_lost: int = 1, keep_samples: int = 20_000) -> None:
        if min_lost < 1:
            raise ValueError("min_lost must be at least 1")
        self.min_lost = min_lost
        self.samples: deque[ProbeResult] = deque(maxlen=keep_samples)
        self.outages: list[Outage] = []
        self.sent = 0
        self.received = 0
        self._rtt = _RttAccumulator()
        self._next_seq = 0  # measurements number their probes from 0
        self._waiting: dict[int, ProbeResult | None] = {}  # None: abandoned, never counted
        self._last_reply: float | None = None
        self._first_sent: float | None = None
        self._run: list[ProbeResult] = []  # the current run of lost probes

    @property
    def lost(self) -> int:
        return self.sent - self.received

    @property
    def rtt(self) -> RttStats:
        return self._rtt.stats()

    @property
    def last_reply(self) -> float | None:
        return self._last_reply

    def add(self, result: ProbeResult) -> list[Outage]:
        """Take one result in any order; return the outages that it closed."""
        return self._accept(result.seq, result)

    def abandon(self, seq: int) -> list[Outage]:
        """Forget a probe whose fate will never be known (the measurement stopped first)."""
        return self._accept(seq, None)

    def ongoing(self) -> Outage | None:
        """The outage in progress, once its run of lost probes reaches `min_lost`."""
        if len(self._run) < self.min_lost:
            return None
        return self._open_outage()

    def _accept(self, seq: int, result: ProbeResult | None) -> list[Outage]:
        if seq < self._next_seq or seq in self._waiting:
            return []  # a duplicate, or a reply after its probe was already resolved
        self._waiting[seq] = result
        closed: list[Outage] = []
        while self._next_seq in self._waiting:
            item = self._waiting.pop(self._next_seq)
            self._next_seq += 1
            if item is not None:
                outage = self._process(item)
                if outage is not None:
                    closed.append(outage)
        return closed

    def _process(self, result: ProbeResult) -> Outage | None:
        self.sent += 1
        self.samples.append(result)
        if self._first_sent is None:
            self._first_sent = result.sent
        if result.rtt is None:
            self._run.append(result)
            return None
        self.received += 1
        self._rtt.add(result.rtt)
        replied = result.sent + result.rtt
        outage = None
        if len(self._run) >= self.min_lost:
            outage = self._open_outage()
            outage = Outage(outage.start, replied, outage.lost, outage.last_lost,
                            outage.start_exact)
            self.outages.append(outage)
        self._run.clear()
        self._last_reply = replied if self._last_reply is None else max(self._last_reply,
                                                                           replied)
        return outage

    def _open_outage(self) -> Outage:
        first, last = self._run[0], self._run[-1]
        if self._last_reply is None:
            return Outage(first.sent, None, len(self._run), last.sent, start_exact=False)
        return Outage(self._last_reply, None, len(self._run), last.sent)
