"""The one place every cluster operation goes through.

For each operation the runner checks the session's role, runs the blocking backend call
in a thread worker, writes the audit record (before the user sees the result, so no
confirmed operation is missing from the log), shows the task it started or the
backend's own words for why not, and asks the poll loop for a prompt refresh so the
tree shows the change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from textual.notifications import SeverityLevel
from textual.worker import WorkerFailed

from vmconsole.backends.base import Backend, BackendError, InvalidInput, Task
from vmconsole.ui.messages import OperationFailed, OperationStarted

if TYPE_CHECKING:
    from vmconsole.ui.operations_features import OperationsFeatures

log = logging.getLogger(__name__)
T = TypeVar("T")

VIEWER_REFUSAL = "your role is viewer: you may look but not change anything"


@dataclass(frozen=True, slots=True)
class OpRequest:
    """One operation a user asked for, as the audit log records it."""

    cluster: str
    target: str  # the guest id acted on
    operation: str  # "start", "clone", "migrate", ...
    description: str  # for people: "Migrate web1 to pve2"
    parameters: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What came of a request: the task it started, or why not (and, for a form, the
    reason per field)."""

    task: Task | None = None
    message: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.task is not None


class OperationRunner:
    def __init__(self, app: OperationsFeatures) -> None:
        self.app = app

    # --- the operation path -------------------------------------------------------------

    def permitted(self, request: OpRequest) -> bool:
        """May this session operate? A refusal is audited, then shown."""
        if self.app.session.role.may_operate():
            return True
        self.refuse(request, VIEWER_REFUSAL, "error")
        return False

    def refuse(self, request: OpRequest, reason: str,
               severity: SeverityLevel = "warning") -> None:
        """Refuse an operation: audit the refusal (in a thread), then show `reason`."""
        self.app.run_worker(lambda: self._refuse(request, reason, severity), thread=True,
                            group="audit", exit_on_error=False)

    def _refuse(self, request: OpRequest, reason: str, severity: SeverityLevel) -> None:
        self._audit(request, f"refused: {reason}", None)
        self.app.call_from_thread(self.app.notify, reason, title=request.description,
                                  severity=severity, timeout=8, markup=False)

    async def run(self, request: OpRequest, call: Callable[[Backend], Task]) -> Outcome:
        """Run one operation in a thread worker and show what came of it."""
        if not self.permitted(request):
            return Outcome(message=VIEWER_REFUSAL)
        worker = self.app.run_worker(lambda: self._execute(request, call), thread=True,
                                     group="ops", exit_on_error=False,
                                     name=request.description)
        try:
            outcome = await worker.wait()
        except WorkerFailed:  # _execute catches everything: a bug, which the app reports
            outcome = Outcome(message="internal error (see the log)")
        self._show(request, outcome)
        return outcome

    def _execute(self, request: OpRequest, call: Callable[[Backend], Task]) -> Outcome:
        """In the worker thread: the backend call, then the audit record."""
        try:
            task = call(self._backend(request.cluster))
        except InvalidInput as exc:
            outcome = Outcome(message=exc.message, fields=exc.fields)
        except BackendError as exc:
            outcome = Outcome(message=exc.message)
        except Exception as exc:  # a backend bug: say so, keep the console alive
            log.exception("backend call %s failed", request.description)
            outcome = Outcome(message=f"internal error in the backend: {exc}")
        else:
            outcome = Outcome(task=task)
        result = "started" if outcome.ok else f"error: {outcome.message}"
        self._audit(request, result, outcome.task.id if outcome.task else None)
        return outcome

    def _audit(self, request: OpRequest, result: str, task_id: str | None) -> None:
        self.app.write_audit(request.cluster, request.target, request.operation, result,
                             request.parameters, task_id)

    def _show(self, request: OpRequest, outcome: Outcome) -> None:
        """Tell the user, and the app's other features (the ping monitor starts itself
        on a migration), through OperationStarted / OperationFailed."""
        if outcome.task is None:
            self.app.notify(outcome.message, title=f"{request.description}: refused",
                            severity="error", timeout=10)
            self.app.post_message(OperationFailed(request.cluster, request.description,
                                                  outcome.message))
            return
        self.app.post_message(OperationStarted(request.cluster, request.description,
                                               outcome.task))
        self.app.notify(f"task {outcome.task.id}", title=f"{request.description}: started")
        self.app.show_task(request.cluster, outcome.task)
        loop = self.app.loops.get(request.cluster)
        if loop is not None:
            loop.refresh_soon()

    # --- reading what a form needs ------------------------------------------------------

    async def query(self, cluster: str, what: str, call: Callable[[Backend], T]) -> T | None:
        """A blocking read (next free id, migration targets...) in a thread worker; on
        failure None, and the app's worker handler shows the backend's message."""
        worker = self.app.run_worker(lambda: call(self._backend(cluster)), thread=True,
                                     group="queries", exit_on_error=False,
                                     name=f"reading {what}")
        try:
            return await worker.wait()
        except WorkerFailed:
            return None

    def _backend(self, cluster: str) -> Backend:
        loop = self.app.loops.get(cluster)
        if loop is None:
            raise BackendError(f"no cluster named {cluster}")
        return loop.backend
