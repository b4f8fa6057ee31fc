"""Polling a backend: one poll step (fetch, diff, history, back-off) and the loop that
runs it in a thread and hands each result to its subscribers.

The loop is a thread of its own, not a Textual timer, so one loop serves every console
that shows the cluster: the local one, or thirty SSH sessions sharing one poll (serve/).
The next poll is scheduled only after this one ends, so a slow host never gets
overlapping polls; a slow or failing poll backs the interval off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from vmconsole.backends.abilities import ClusterEvent, SupportsChangeNotice, SupportsEvents
from vmconsole.backends.base import Backend, BackendError, MetricSample, NotSupported, Task
from vmconsole.give_way import give_way, stepping_aside
from vmconsole.model import Inventory, InventoryDiff, LabelKey
from vmconsole.monitor.history import MetricHistory
from vmconsole.monitor.task_ends import TaskEnds

log = logging.getLogger(__name__)

#: The longest a poll waits in all for the consoles' keys (seconds, `give_way`): keys
#: held down for a second delay a poll by no more than this.
KEYS_FIRST_S = 0.1


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll brought. On failure `inventory` is the last good one (or None),
    `error` says why, in the backend's words, `failing_since` when the polls began to
    fail and `next_try` when the next one starts (both epoch seconds)."""

    cluster: str
    seq: int
    inventory: Inventory | None
    diff: InventoryDiff | None
    duration: float
    next_delay: float
    error: str | None = None
    failures: int = 0
    tasks: tuple[Task, ...] = ()
    events: tuple[ClusterEvent, ...] = field(default=())
    failing_since: float | None = None
    next_try: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Poller:
    """One poll at a time against one backend, with history and back-off."""

    def __init__(self, backend: Backend, interval: float = 2.0, max_interval: float = 30.0,
                 history: MetricHistory | None = None, label_key: LabelKey | None = None
                 ) -> None:
        """`label_key`: what the view draws of an object (`model.LabelKey`), so that a
        poll marks as relabelled only what the view must draw again; None: every change."""
        self.backend = backend
        self.label_key = label_key
        self.interval = interval
        self.max_interval = max_interval
        self.history = history or MetricHistory()
        self._inventory: Inventory | None = None
        self._failures = 0
        self._failing_since: float | None = None
        self._seq = 0
        self._event_seq = 0

    @property
    def inventory(self) -> Inventory | None:
        return self._inventory

    def poll(self) -> PollResult:
        """Fetch the inventory, tasks and new events once. Never raises a BackendError:
        a failure is a result with `error` set."""
        with stepping_aside(KEYS_FIRST_S):
            return self._poll()

    def _poll(self) -> PollResult:
        started = time.monotonic()
        self._seq += 1
        try:
            inventory = self.backend.inventory()
            tasks = tuple(self.backend.tasks())
            events: tuple[ClusterEvent, ...] = ()
            if isinstance(self.backend, SupportsEvents):
                events = tuple(self.backend.events(self._event_seq))
                if events:
                    self._event_seq = events[-1].seq
        except BackendError as exc:
            # The first failure of a streak is a line of the log (console.log), the later
            # ones are not: a host down for an hour is one line, not one per poll. (A
            # bug's traceback is the loop's line, at every poll.)
            if self._failing_since is None:
                log.warning("poll of %s failed: %s", self.backend.name, exc.message)
            return self._failed(exc.message, time.monotonic() - started)
        previous, self._inventory = self._inventory, inventory
        if self._failures:
            log.warning("poll of %s works again after %d failed poll%s", self.backend.name,
                        self._failures, "s" if self._failures > 1 else "")
        self._failures = 0
        self._failing_since = None
        diff = previous.diff(inventory, self.label_key) if previous else InventoryDiff(
            added=tuple(inventory.objects()), cluster_changed=True)
        give_way()
        self.history.record(inventory, diff)
        duration = time.monotonic() - started
        return PollResult(self.backend.name, self._seq, inventory, diff, duration,
                          self._delay(duration), tasks=tasks, events=events)

    def internal_error(self) -> PollResult:
        """The result of a poll that raised something else than a BackendError (a bug,
        logged by the caller): a failure like any other, tried again after the longest
        interval, so the detail pane says since when and when the next try is."""
        return self._failed("internal error while polling (see the log)", 0.0,
                            self.max_interval)

    def _failed(self, message: str, duration: float, delay: float | None = None
                ) -> PollResult:
        """A failed poll (`duration` seconds) counted; `delay` None: the back-off's."""
        self._failures += 1
        if self._failing_since is None:
            self._failing_since = time.time()
        if delay is None:
            delay = self._delay(duration)
        return PollResult(self.backend.name, self._seq, self._inventory, None, duration,
                          delay, message, self._failures,
                          failing_since=self._failing_since, next_try=time.time() + delay)

    def _delay(self, duration: float) -> float:
        """The pause before the next poll: the interval, stretched when a poll is slow
        (so polling takes at most a third of the time) and doubled per failure."""
        delay = max(self.interval, 2 * duration)
        if self._failures:
            delay = self.interval * 2 ** min(self._failures, 8)
        return min(delay, self.max_interval)

    def samples(self, object_id: str, timeframe: str = "recent") -> list[MetricSample]:
        """History for one object: the backend's own over a timeframe where it has it
        (Proxmox rrddata), else the poller's ring buffers."""
        if timeframe != "recent" and self.backend.capabilities.history:
            try:
                return self.backend.history(object_id, timeframe)
            except NotSupported:
                pass
        return self.history.samples(object_id)


Subscriber = Callable[[PollResult], None]


class PollLoop:
    """Runs a Poller in a daemon thread and hands each result to every subscriber."""

    def __init__(self, poller: Poller) -> None:
        self.poller = poller
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.latest: PollResult | None = None
        self.task_ends = TaskEnds()  # audits the end of tasks that operations started

    @property
    def backend(self) -> Backend:
        return self.poller.backend

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call `callback` (in the poll thread) after every poll; returns the
        unsubscribe function. A new subscriber gets the latest result at once."""
        with self._lock:
            self._subscribers.append(callback)
            latest = self.latest
        if latest is not None:
            callback(latest)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def poll_first(self) -> PollResult:
        """The first poll, made in the calling thread before `start`, which then waits
        the interval before the next: for a backend that answers from memory (the
        simulator), so that its first inventory is there for the console's first frame.
        Made in the thread while the console starts, it shared the interpreter with it
        (the GIL, handed over every millisecond): at 10,000 guests the poll took 104-110
        ms of CPU against 80 ms alone, and the console drew its empty tree first."""
        return self._poll_once()

    def start(self) -> None:
        """Start polling; a backend that hears of changes by events asks for a poll."""
        if isinstance(self.backend, SupportsChangeNotice):
            self.backend.set_change_callback(self.refresh_soon)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"poll-{self.backend.name}")
            self._thread.start()

    def refresh_soon(self) -> None:
        """Poll now instead of waiting out the interval (after an action or an event)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        if isinstance(self.backend, SupportsChangeNotice):
            self.backend.set_change_callback(None)
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _poll_once(self) -> PollResult:
        try:
            result = self.poller.poll()
        except Exception:  # a bug in a backend must not kill the loop silently
            log.exception("poll of %s failed", self.backend.name)
            result = self.poller.internal_error()
        self.latest = result
        self.task_ends.check(result.tasks)
        return result

    def _run(self) -> None:
        if self.latest is not None:  # `poll_first`
            self._wake.wait(self.latest.next_delay)
            self._wake.clear()
        while not self._stopped.is_set():
            result = self._poll_once()
            with self._lock:
                subscribers = list(self._subscribers)
            for callback in subscribers:
                try:
                    callback(result)
                except Exception:
                    log.exception("poll subscriber failed")
            self._wake.wait(result.next_delay)
            self._wake.clear()
