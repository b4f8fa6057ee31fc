"""Bulk actions: one operation on many guests, each through the change path.

A `BulkPlan` is what the user confirmed: the guests acted on (`BulkItem`, each with the
`OpRequest` and backend call a single operation would make) and those skipped, with
why. `run_bulk` runs the items on a pool of at most `cap` threads; each item is one
`Operations.perform` (so role, read-only mode and audit are exactly those of a single
operation) followed by a wait for its task to end, so that the cap bounds the tasks
running at once, as Proxmox's bulk actions bound their workers (`max-workers`,
datacenter.cfg; 4 there too). A failure of one item, refused, raised or ended in
error, is noted and the others go on. Blocking: the console calls it in a thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from vmconsole.backends.base import BackendError, Task, TaskStatus
from vmconsole.operations import Change, Operations, OpRequest

DEFAULT_CAP = 4  # Proxmox's default max-workers for its bulk actions
# Why an item did not start: the console closed while it was queued.
CANCELLED = "not started: the console closed first"
# How often an item's task is read while it runs (at first 8 times as often, then
# doubling up to this), and how long it is waited for before
# the item counts as "not waited for" (the task itself goes on; the log shows its end).
TASK_POLL_S = 0.5
TASK_WAIT_S = 3600.0


def guests_text(count: int) -> str:
    """ "1 guest", "3 guests": a count of guests, for a task's target and a question."""
    return f"{count} guest{'s' if count != 1 else ''}"


@dataclass(frozen=True, slots=True)
class BulkItem:
    """One guest's part of a bulk action: the request and call of a single operation,
    and what will happen to it, for the confirmation ("live migration to pve2: most
    free memory, 12.0 GiB")."""

    request: OpRequest
    call: Change
    name: str  # the guest's name, for people
    what: str
    node: str  # where the guest was when planned: a question names it with its node


@dataclass(frozen=True, slots=True)
class Skipped:
    """A guest marked but left alone, and why ("running already", "a template")."""

    target: str  # the guest's id
    name: str
    reason: str
    node: str  # where the guest was when planned


@dataclass(frozen=True, slots=True)
class BulkPlan:
    """A bulk action as confirmed: `operation` is the audit's word of each item."""

    cluster: str
    operation: str
    title: str  # "Start 12 guests"
    items: tuple[BulkItem, ...]
    skipped: tuple[Skipped, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemEnd:
    """How one item ended: its task (None when none started) and, if it failed, why."""

    item: BulkItem
    task: Task | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class BulkReport:
    """The state of a bulk action while it runs and at its end. `started` and `ended`
    are epoch seconds (the console's clock); `ends` holds the finished items in the
    order they finished."""

    plan: BulkPlan
    started: float
    running: dict[str, Task] = field(default_factory=dict)  # by guest id
    ends: list[ItemEnd] = field(default_factory=list)
    ended: float | None = None

    @property
    def failures(self) -> list[ItemEnd]:
        return [end for end in self.ends if not end.ok]

    @property
    def done(self) -> int:
        return len(self.ends)

    def summary(self, task_id: str, user: str) -> Task:
        """The bulk action as one task of the task log: its progress (items finished
        over items), a log line per item finished, and, at the end, the failures.
        Its user is its items' as the cluster logged them (`root@pam`, and who asked
        through a served console: `Task.acted_by`), so that one actor reads as one name
        on every row; `user`, the actor's, stands until an item's task has told it."""
        plan = self.plan
        item = next((t for t in (*self.running.values(), *(e.task for e in self.ends))
                     if t is not None), None)
        user, acted_by = (user, "") if item is None else (item.user, item.acted_by)
        total = len(plan.items)
        lines = [f"{plan.title}: {total} to do, {len(plan.skipped)} skipped"]
        lines += [f"skipped {s.name} ({s.target}): {s.reason}" for s in plan.skipped]
        for end in self.ends:
            task = f" (task {end.task.id})" if end.task is not None else ""
            lines.append(f"{end.item.name} ({end.item.request.target}): "
                         f"{'ok' if end.ok else 'FAILED: ' + end.error}{task}")
        failed = self.failures
        if self.ended is None:
            status, error = TaskStatus.RUNNING, None
        elif failed:
            status = TaskStatus.ERROR
            error = f"{len(failed)} of {total} failed: " + "; ".join(
                f"{end.item.name}: {end.error}" for end in failed)
            lines.append(error)
        else:
            status, error = TaskStatus.OK, None
            lines.append(f"all {total} done")
        return Task(id=task_id, operation=f"bulk {plan.operation}",
                    target=guests_text(total), node="", user=user, started=self.started,
                    acted_by=acted_by,
                    status=status, ended=self.ended,
                    progress=self.done / total if total else 1.0, log=tuple(lines),
                    error=error, result={"done": self.done - len(failed),
                                         "failed": len(failed),
                                         "skipped": len(plan.skipped)})


Progress = Callable[[BulkReport, Task | None], None]


def run_bulk(operations: Operations, plan: BulkPlan, progress: Progress,
             cap: int = DEFAULT_CAP, poll_s: float = TASK_POLL_S,
             wait_s: float = TASK_WAIT_S, clock: Callable[[], float] = time.time,
             cancel: threading.Event | None = None, summary_id: str = "bulk") -> BulkReport:
    """Run every item of `plan`, at most `cap` at once, and return the report.

    The summary task (`summary_id`, as `BulkReport.summary` shows it) is audited as
    every task is: "started" before the first item, then its end, "ok" or "error: N of
    M failed: ...", target "bulk", operation "bulk <operation>".

    `progress(report, task)` is called (from the pool's threads, under a lock, so the
    report is consistent) with each task as it starts (`task`) and after each item
    ends (`task` None). An item fails when it is refused, its backend raises, its task
    ends in error, or it is still running after `wait_s` seconds; the others go on.
    Once `cancel` is set (the console is closing), no further item starts and no task
    is waited for: each is reported as not started, or not waited for. Never raises for
    what a backend does."""
    cancel = cancel or threading.Event()
    if cap < 1:
        raise ValueError(f"the concurrency cap must be at least 1, got {cap}")
    report = BulkReport(plan, clock())
    lock = threading.Lock()
    request = OpRequest(plan.cluster, "bulk", f"bulk {plan.operation}", plan.title,
                        {"guests": len(plan.items), "skipped": len(plan.skipped)})
    operations.record(request, "started", summary_id, watch=False)

    def one(item: BulkItem) -> None:
        if cancel.is_set():
            with lock:
                report.ends.append(ItemEnd(item, None, CANCELLED))
                progress(report, None)
            return
        outcome = operations.perform(item.request, item.call)
        task = outcome.task
        if task is not None:
            with lock:
                report.running[item.request.target] = task
                progress(report, task)
            task, error = _wait(operations, item, task, poll_s, wait_s, cancel)
        else:
            error = "" if outcome.ok else outcome.message
        with lock:
            report.running.pop(item.request.target, None)
            report.ends.append(ItemEnd(item, task, error))
            progress(report, task)

    with ThreadPoolExecutor(max_workers=cap, thread_name_prefix="bulk") as pool:
        for future in [pool.submit(one, item) for item in plan.items]:
            future.result()
    with lock:
        report.ended = clock()
        progress(report, None)
        summary = report.summary(summary_id, operations.actor.user)
    operations.record(request, str(summary.status) if summary.error is None else
                      f"{summary.status}: {summary.error}", summary_id, watch=False)
    return report


def _wait(operations: Operations, item: BulkItem, task: Task, poll_s: float,
          wait_s: float, cancel: threading.Event) -> tuple[Task, str]:
    """Read the item's task until it ends: (its last state, why it failed or "")."""
    deadline = time.monotonic() + wait_s
    delay = poll_s / 8  # a start often ends within a fraction of a second: look soon
    while not task.status.done:
        if time.monotonic() >= deadline:
            return task, f"still running after {wait_s:.0f} s: not waited for"
        if cancel.wait(delay):
            return task, "not waited for: the console closed (the task goes on)"
        delay = min(poll_s, delay * 2)
        try:
            task = operations.backend(item.request.cluster).task(task.id)
        except BackendError as exc:  # the task vanished, or the backend is unreachable
            return task, f"its task could not be read: {exc.message}"
    if task.status is TaskStatus.ERROR:
        return task, task.error or "the task failed"
    return task, ""

