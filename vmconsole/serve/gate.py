"""Admission before a login, as sshd does it: a connection that has not logged in costs
a file descriptor and a key exchange, so their number is bounded in all (MaxStartups,
with random early drop), per source address (PerSourceMaxStartups) and by the file
descriptors left; each waits at most LoginGraceTime (asyncssh's `login_timeout`).

A flood of such connections must not flood the log either: drops are counted and said
in one line per interval (`RateLimitedLog`).
"""

from __future__ import annotations

import logging
import os
import random
import resource
import time
from collections import Counter
from dataclasses import dataclass, field

from vmconsole.serve.limits import Limits

log = logging.getLogger(__name__)


class RateLimitedLog:
    """One log line per kind of message per `interval` seconds; what was held back is
    counted into the next line of that kind."""

    def __init__(self, logger: logging.Logger, interval: float = 10.0) -> None:
        self._logger = logger
        self._interval = interval
        self._last: dict[str, float] = {}
        self._held: Counter[str] = Counter()

    def warning(self, kind: str, message: str) -> None:
        """Log `message` now, or count it if a `kind` line went out under `interval`
        seconds ago."""
        now = time.monotonic()
        if now - self._last.get(kind, -self._interval) < self._interval:
            self._held[kind] += 1
            return
        held = self._held.pop(kind, 0)
        suffix = f" (and {held} more in the last {self._interval:g} s)" if held else ""
        self._last[kind] = now
        self._logger.warning("%s%s", message, suffix)


def open_files() -> int:
    """File descriptors this process has open (Linux: /proc/self/fd), 0 if unknown."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


def raise_file_limit() -> int:
    """Raise the soft limit on open files to the hard one, as servers do; returns the
    soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


@dataclass
class StartupGate:
    """Counts the connections that have not logged in, in all and by address."""

    limits: Limits
    rng: random.Random = field(default_factory=random.Random)
    waiting: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    file_limit: int = field(default_factory=lambda: resource.getrlimit(
        resource.RLIMIT_NOFILE)[0])

    def admit(self, address: str) -> str | None:
        """Admit a new connection from `address` (it then counts as waiting), or say
        why it is dropped."""
        limits = self.limits
        per_source = limits.per_source_startups
        if per_source and self.by_source[address] >= per_source:
            return f"{address} has {per_source} connections waiting to log in already"
        if self.rng.random() < limits.max_startups.drop_probability(self.waiting):
            return f"{self.waiting} connections are waiting to log in (max startups " \
                   f"{limits.max_startups.start}:{limits.max_startups.rate}:" \
                   f"{limits.max_startups.full})"
        if self.file_limit - open_files() < limits.fd_reserve:
            return f"the server is near its limit of {self.file_limit} open files"
        self.waiting += 1
        self.by_source[address] += 1
        return None

    def done(self, address: str) -> None:
        """An admitted connection logged in or went away: it waits no more."""
        self.waiting -= 1
        self.by_source[address] -= 1
        if self.by_source[address] <= 0:
            del self.by_source[address]
