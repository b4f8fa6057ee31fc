"""The console's side of the change path: `vmconsole.operations.Operations` checks,
calls the backend and audits; the runner runs it in a thread worker (never on the event
loop) and shows what came of it: the task started, what was done, or the backend's own
words for why not. The app's other features hear of it through OperationStarted /
OperationFailed (the ping monitor starts itself on a migration). A form's submission is
answered in the form: its refusal shows by its fields, never as a toast over them
(`answered_in_form`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any, TypeVar

from textual.app import App
from textual.notifications import SeverityLevel
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from vmconsole.backends.base import Backend, Task
from vmconsole.operations import Change, Operations, OpRequest, Outcome
from vmconsole.ui.messages import OperationFailed, OperationStarted

T = TypeVar("T")

# True in the worker of a form that waits for its submission's outcome: the form shows
# a refusal next to its fields, and a toast would hang over the form (Textual's toasts
# rise from the corner its buttons are in; a form's hang from its top, over its first
# fields), hiding the field it is about. A ContextVar, as the worker's task has its own
# copy: a change the console makes meanwhile (a rebalance move) still says its refusal.
_FORM_ANSWERS: ContextVar[bool] = ContextVar("form_answers", default=False)


@contextmanager
def answered_in_form() -> Iterator[None]:
    """Within it, `OperationRunner.run` leaves the refusal of a change to the form that
    submitted it (`FormScreen`): no toast."""
    token = _FORM_ANSWERS.set(True)
    try:
        yield
    finally:
        _FORM_ANSWERS.reset(token)


async def _outcome(worker: Worker[Outcome]) -> Outcome:
    """What came of a change run by `worker` (`Operations.perform`)."""
    try:
        return await worker.wait()
    except WorkerFailed:  # perform catches a backend's errors: a bug, which the app reports
        return Outcome(message="internal error (see the log)")


class OperationRunner:
    """Runs `Operations` for one app. `started(cluster, task)` is told of every task
    started (the app shows it in the task log and asks for a prompt poll); `done(cluster)`
    of every change made at once."""

    def __init__(self, app: App[Any], operations: Operations,
                 started: Callable[[str, Task], None],
                 done: Callable[[str], None]) -> None:
        self.app = app
        self.operations = operations
        self._started = started
        self._done = done

    def permitted(self, request: OpRequest) -> bool:
        """May this console make the change? Checked before a form opens; a refusal is
        audited (in a thread), then shown."""
        reason = self.operations.refusal(request)
        if reason is None:
            return True
        self.refuse(request, reason, "error")
        return False

    def refuse(self, request: OpRequest, reason: str,
               severity: SeverityLevel = "warning") -> None:
        """Refuse a change for `reason`: audit the refusal (in a thread), then say it."""
        def refuse() -> None:
            outcome = self.operations.refuse(request, reason)
            self.app.call_from_thread(self._tell, request, outcome, severity)

        self.app.run_worker(refuse, thread=True, group="audit", exit_on_error=False)

    async def run(self, request: OpRequest, call: Change) -> Outcome:
        """Perform one change in a thread worker and show what came of it.

        The change goes on if the caller stops waiting for it (a form closed with Esc
        while the backend works: Textual cancels the form's worker), and what came of
        it is still shown when it comes, as a notification and in the task log; with no
        form left to show a refusal, a toast says it."""
        worker = self.app.run_worker(lambda: self.operations.perform(request, call),
                                     thread=True, group="ops", exit_on_error=False,
                                     name=request.description)
        # Shielded: the caller's cancellation would reach the thread worker's task
        # through the await, and the outcome would be dropped with it.
        outcome = asyncio.ensure_future(_outcome(worker))
        try:
            shown = await asyncio.shield(outcome)
        except asyncio.CancelledError:
            outcome.add_done_callback(partial(self._show_late, request))
            raise
        self._show(request, shown, _FORM_ANSWERS.get())
        return shown

    def _show_late(self, request: OpRequest, outcome: asyncio.Future[Outcome]) -> None:
        """Say what came of a change whose caller stopped waiting (its form closed): no
        form is left to show a refusal. Nothing when the change's worker was cancelled
        (the console closing)."""
        if not outcome.cancelled() and outcome.exception() is None:
            self._show(request, outcome.result(), in_form=False)

    def _tell(self, request: OpRequest, outcome: Outcome,
              severity: SeverityLevel = "error", in_form: bool = False) -> None:
        if outcome.audit_error:
            self.app.notify(outcome.audit_error, title="Audit", severity="warning",
                            timeout=10)
        if outcome.refused and not in_form:
            self.app.notify(outcome.message, title=request.description, severity=severity,
                            timeout=8)

    def _show(self, request: OpRequest, outcome: Outcome, in_form: bool) -> None:
        """Say what came of a change; a refusal only where no form answers it (`in_form`:
        the form that submitted it shows it by its fields)."""
        self._tell(request, outcome, in_form=in_form)
        if outcome.refused:
            return
        if outcome.task is not None:
            self.app.post_message(OperationStarted(request.cluster, request.description,
                                                   outcome.task))
            self.app.notify(f"task {outcome.task.id}",
                            title=f"{request.description}: started")
            self._started(request.cluster, outcome.task)
        elif outcome.done:
            self.app.notify(outcome.done, title=request.description, timeout=3)
            self._done(request.cluster)
        else:
            if not in_form:
                self.app.notify(outcome.message, title=f"{request.description}: refused",
                                severity="error", timeout=10)
            self.app.post_message(OperationFailed(request.cluster, request.description,
                                                  outcome.message))

    async def query(self, cluster: str, what: str, call: Callable[[Backend], T]) -> T | None:
        """A blocking read (next free id, migration targets...) in a thread worker; on
        failure None, and the app's worker handler shows the backend's message. Once
        the caller is cancelled, the thread's worker is too (`Worker.is_cancelled`):
        `call` may look, and stop a long read no one waits for any more."""
        worker = self.app.run_worker(lambda: call(self.operations.backend(cluster)),
                                     thread=True, group="queries", exit_on_error=False,
                                     name=f"reading {what}")
        try:
            return await worker.wait()
        except WorkerFailed:
            return None
        except WorkerCancelled:
            # The worker that awaits this read was cancelled (an exclusive one started
            # again: the rebalance plan's `d` while the plan was read, `L d` in one
            # burst, or its screen closed), and Textual's `wait` made the cancellation
            # an error, which ended the console. It is the cancellation it was.
            worker.cancel()
            raise asyncio.CancelledError from None
