"""What one server allows: sessions, idle time and unread output; before a login,
how long and how many connections may wait (sshd's LoginGraceTime, MaxStartups and
PerSourceMaxStartups); after it, how fast a client may type and how large a terminal
it may ask for."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Startups:
    """sshd's `MaxStartups start:rate:full` (sshd_config(5)): with `start` connections
    waiting to log in, a new one is dropped with probability `rate` percent, rising
    linearly to 100 % at `full`. The defaults admit a class of 60 logging in within
    the same second; sshd's own are 10:30:100."""

    start: int = 64
    rate: int = 30  # percent
    full: int = 256

    def __post_init__(self) -> None:
        if not (1 <= self.start <= self.full and 0 <= self.rate <= 100):
            raise ValueError("max startups: expected 1 <= start <= full and 0 <= rate <= 100")

    @classmethod
    def parse(cls, text: str) -> Startups:
        """`START`, or `START:RATE:FULL` as in sshd_config; ValueError otherwise."""
        parts = text.split(":")
        try:
            if len(parts) == 1:
                return cls(int(parts[0]), 100, int(parts[0]))
            start, rate, full = (int(p) for p in parts)
        except ValueError:
            raise ValueError(f"max startups {text!r}: expected START or START:RATE:FULL, "
                             "e.g. 64:30:256") from None
        return cls(start, rate, full)

    def drop_probability(self, waiting: int) -> float:
        """The chance (0..1) to drop a new connection while `waiting` others have not
        logged in yet."""
        if waiting < self.start:
            return 0.0
        if waiting >= self.full:
            return 1.0
        span = self.full - self.start
        return (self.rate + (100 - self.rate) * (waiting - self.start) / span) / 100


@dataclass(frozen=True, slots=True)
class Limits:
    max_sessions: int = 30
    idle_timeout: float = 0.0  # seconds without input before a session ends; 0: never
    max_output_buffer: int = 4 * 1024 * 1024  # bytes written but not yet sent
    # before a login
    login_grace_time: float = 10.0  # seconds to log in (sshd: LoginGraceTime, 120)
    max_startups: Startups = Startups()
    per_source_startups: int = 32  # waiting to log in from one address (0: no limit)
    fd_reserve: int = 64  # file descriptors kept free for logins and sessions
    # after it: what one session's client may send
    input_rate: int = 4 * 1024  # bytes per second, sustained (typing is ~10, a mouse ~1k)
    input_burst: int = 16 * 1024  # bytes at once (a paste); beyond the rate, dropped
    max_escape: int = 256  # bytes of an escape sequence or paste marker's body
    max_width: int = 500  # columns; a larger terminal is drawn at this size
    max_height: int = 200  # rows

    def __post_init__(self) -> None:
        if self.max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        # Written so that nan, which fails every comparison, is refused too; and inf,
        # as 0 already says "never" and a grace time must end.
        if not 0 <= self.idle_timeout < math.inf:
            raise ValueError("idle_timeout must be 0 (never) or more seconds")
        if not 0 < self.login_grace_time < math.inf:
            raise ValueError("login grace time must be a number of seconds above 0")
        if self.per_source_startups < 0:
            raise ValueError("per-source startups must be 0 (no limit) or more")
        if self.input_rate < 1 or self.input_burst < 1:
            raise ValueError("input rate and burst must be at least 1 byte")
