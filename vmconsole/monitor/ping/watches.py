"""The console's measurements: one ping measurement per migration, failover or `w`, several
at once, each knowing the guest it watches, why it was started, the task it measures
and, when it ended early, why.

    watches = Watches()
    watch = watches.add(Watch("db1 (sim)", cluster="lab", guest="qemu/101",
                              why="migration", tasks=["UPID:...:qmigrate:..."]))
    watch.mark("migration started", at=event.time)   # kept until the measurement opens
    watch.attach(monitor.start(target, duration=900))
    watches.end_vanished("lab", {"qemu/100", ...})   # guests no longer in the cluster
    watches.for_task("lab", task_id).result_text()   # "downtime 187 ms, 12 probes lost"
    watch.result_text(during=(started, ended))        # only that task's outages

No Textual here: the console's ping panel shows these, the task detail reads them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vmconsole.monitor.ping.report import (
    all_outages,
    count_note,
    downtime_text,
    downtime_words,
    format_duration,
    probes,
)

if TYPE_CHECKING:  # the probing stack is loaded only once something is probed
    from vmconsole.monitor.ping.detector import Outage
    from vmconsole.monitor.ping.failures import Failure
    from vmconsole.monitor.ping.measurement import Marker, Measurement

# An outage that begins up to this long (measurement clock seconds) after its task ended
# is still the task's: the guest may first miss a reply after the backend's "done".
AFTER_TASK_S = 5.0
# Ended measurements kept for the panel and the task detail; running ones are never
# dropped (each is bounded in time by its measurement).
KEEP_ENDED = 20


@dataclass(eq=False)
class Watch:
    """One measurement. `label` names the target for people ("db1 (sim)"); `cluster`
    and `guest` are None for an address typed into the panel; `why` is what started it
    ("ping", "migration", "failover"); `tasks` the ids of the migration tasks it
    measures (an HA request's and the migrate task that carries it out)."""

    label: str
    cluster: str | None = None
    guest: str | None = None
    why: str = "ping"
    tasks: list[str] = field(default_factory=list)
    measurement: Measurement | None = None
    error: str = ""  # why the measurement could not be opened
    ended: str = ""  # why it was ended before its time
    # When, in the measurement's clock, what ended it began (None: when it was ended):
    # an outage from then on is the next measurement's (`end`).
    ended_at: float | None = None
    # The migration or failover it measures ("migration", "failover"; None: `w`'s, not
    # yet serving one), and whether that one is over: the guest's next gets its own.
    episode: str | None = None
    settled: bool = False
    _early_marks: list[tuple[str, float | None, Failure | None]] = field(
        default_factory=list)

    @property
    def running(self) -> bool:
        """Probing, or about to (the measurement is being opened)."""
        if self.error or self.ended:
            return False
        return self.measurement is None or self.measurement.running

    def __post_init__(self) -> None:
        if self.episode is None and self.why != "ping":
            self.episode = self.why

    def serves(self, episode: str) -> bool:
        """Whether this measurement, running on its guest, measures the guest's migration
        or failover now starting (EPISODE): yes for the one it measures until that is
        over (a failover's power off, node lost and fence are one), and for `w`'s first;
        no for one of the other kind or one after it (the README: each gets a
        measurement of its own)."""
        return self.episode is None or (self.episode == episode and not self.settled)

    def attach(self, measurement: Measurement) -> None:
        """The opened measurement; marks made before it opened are put on it now."""
        self.measurement = measurement
        for label, at, failure in self._early_marks:
            measurement.mark(label, at, failure)
        self._early_marks.clear()
        self.label = measurement.target.label

    def mark(self, label: str, at: float | None = None,
             failure: Failure | None = None) -> None:
        """An event marker at AT (default now) in the measurement's clock; FAILURE: how
        the event stands for the guest's loss, if it does (`Marker.failure`)."""
        if self.measurement is None:
            self._early_marks.append((label, at, failure))
        else:
            self.measurement.mark(label, at, failure)

    @property
    def markers(self) -> tuple[Marker, ...]:
        return self.measurement.snapshot().markers if self.measurement is not None else ()

    def end(self, reason: str, at: float | None = None) -> None:
        """Stop probing, saying why (a vanished guest, a replaced cluster, the user).
        AT: when, in the measurement's clock, the cause began (a node's power off that a
        poll reports later): outages that begin then or after are not this one's, though
        it probed on until it heard of it."""
        if self.running:
            self.ended, self.ended_at = reason, at
        if self.measurement is not None:
            self.measurement.stop()

    def result_text(self, during: tuple[float, float | None] | None = None) -> str:
        """What the measurement found, for the panel's list: "downtime 187 ms, 12 probes
        lost", "down since pinging began: no reply in 5.64 s, 564 probes lost", "no
        outage in 1520 probes", "measuring…". DURING, a task's (start, end or None while
        it runs) in the measurement's clock, keeps the outages of that task, for its
        detail: those that overlap it or begin up to `AFTER_TASK_S` after its end (a
        boot's or a later power off's outage is not a migration's)."""
        if self.error:
            return f"not measured: {self.error}"
        if self.measurement is None:
            return "starting…"
        snap = self.measurement.snapshot()
        outages = all_outages(snap)
        if self.ended_at is not None:
            outages = [o for o in outages if o.start < self.ended_at]
        if during is not None:
            outages = [o for o in outages if within(o, *during)]
        if not outages:
            found = ("no outage during the task" if during is not None else
                     f"no outage in {snap.sent} probes" if snap.sent else "no probe sent yet")
        elif len(outages) == 1:
            found = f"{downtime_words(outages[0])}, {probes(outages[0].lost)}"
        else:
            total = sum(o.downtime for o in outages)
            found = (f"{len(outages)} outages{count_note(outages)}, downtime "
                     f"{format_duration(total)} in all, longest "
                     f"{downtime_text(max(outages, key=lambda o: o.downtime))}")
        if self.ended:
            return f"{found}; ended: {self.ended}"
        # A gap that began before pinging did says "down since" itself.
        still = snap.ongoing is not None and snap.ongoing.start_exact and (
            snap.ongoing in outages)
        return found + (", still down" if still else "")


def within(outage: Outage, start: float, end: float | None) -> bool:
    """Whether OUTAGE falls in a task that ran from START to END (None: running), both in
    the measurement's clock, or began up to `AFTER_TASK_S` after it ended."""
    began_in_time = end is None or outage.start <= end + AFTER_TASK_S
    return began_in_time and (outage.end is None or outage.end >= start)


class Watches:
    """The console's measurements, newest last."""

    def __init__(self) -> None:
        self._list: list[Watch] = []

    def __iter__(self) -> Iterator[Watch]:
        return iter(list(self._list))

    def __len__(self) -> int:
        return len(self._list)

    def add(self, watch: Watch) -> Watch:
        """Keep WATCH; the oldest ended ones beyond KEEP_ENDED are forgotten."""
        self._list.append(watch)
        ended = [w for w in self._list if not w.running]
        for old in ended[:max(0, len(ended) - KEEP_ENDED)]:
            self._list.remove(old)
        return watch

    def remove(self, watch: Watch) -> None:
        watch.end("stopped by the user")
        if watch in self._list:
            self._list.remove(watch)

    def running_on(self, cluster: str, guest: str) -> Watch | None:
        """The running measurement of a guest, if there is one."""
        return next((w for w in reversed(self._list)
                     if w.running and (w.cluster, w.guest) == (cluster, guest)), None)

    def for_task(self, cluster: str, task: str) -> Watch | None:
        """The measurement of a task (the newest, should there be two)."""
        return next((w for w in reversed(self._list)
                     if w.cluster == cluster and task in w.tasks), None)

    def end_vanished(self, cluster: str, present: set[str]) -> list[Watch]:
        """End the running measurements of guests of CLUSTER no longer in PRESENT."""
        gone = [w for w in self._list if w.running and w.cluster == cluster
                and w.guest is not None and w.guest not in present]
        for watch in gone:
            watch.end(f"{watch.guest} is no longer in cluster {cluster}")
        return gone

    def end_cluster(self, cluster: str, reason: str) -> list[Watch]:
        """End every running measurement of CLUSTER's guests (it was replaced)."""
        ended = [w for w in self._list if w.running and w.cluster == cluster]
        for watch in ended:
            watch.end(reason)
        return ended

    def stop_all(self) -> None:
        for watch in self._list:
            if watch.measurement is not None:
                watch.measurement.stop()
