"""The one path of every change a console makes to a cluster, without Textual.

`Operations.perform(request, call)` checks read-only mode and the role, calls the
backend, writes the audit record and returns the `Outcome` the UI shows. A change that
starts a task is audited "started" and its end is audited when a poll sees the task
done (`monitor.task_ends`, through the `watch` hook); a change made at once (the
simulator's clock, a fault) is audited "done". A refusal is audited too, and never
reaches the backend. Blocking: the console calls it in a worker thread.

The rules are those of docs/serve.md ("Roles"): a viewer changes nothing, an operator
runs the cluster operations, an admin also changes the model a served class shares.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from vmconsole.actor import Actor, Role
from vmconsole.audit import AuditLog, AuditRecord
from vmconsole.backends.base import Backend, BackendError, InvalidInput, Task

log = logging.getLogger(__name__)

VIEWER_REFUSAL = "your role is viewer: you may look but not change anything"
READ_ONLY_REFUSAL = "this console is read-only: it shows the clusters and changes nothing"
# A refusal names the change as the user asked for it; these audit words read badly
# as English ("ha node affinity set needs the admin role"). Others read as they are.
REFUSAL_WORDS = {
    "ha_node_affinity_set": "saving a node-affinity rule",
    "ha_resource_affinity_set": "saving a resource-affinity rule",
    "ha_node_affinity_remove": "deleting a node-affinity rule",
    "ha_rule_remove": "deleting a resource-affinity rule",
    "set_crs": "changing the CRS settings",
    "crs_apply": "a CRS rebalance round",
}

# What a change does to the backend: a task it started, or (done at once) what it did,
# in words for people ("fault 'power' on pve2").
Change = Callable[[Backend], "Task | str"]


@dataclass(frozen=True, slots=True)
class OpRequest:
    """One change a user asked for, as the audit log records it."""

    cluster: str
    target: str  # the id acted on: "qemu/100", "node/pve2", "clock"
    operation: str  # the task's word: "start", "clone", "migrate", "time_scale", ...
    description: str  # for people: "Migrate web1 to pve2"
    parameters: dict[str, object] = field(default_factory=dict)
    needs: Role = Role.OPERATOR  # the least role that may ask for it


@dataclass(frozen=True, slots=True)
class Outcome:
    """What came of a request, as the UI shows it: the task it started, or what it did
    at once (`done`), or why not (`message`; for a form, also the reason per field).
    `refused` says no backend was called; `audit_error` that the audit log could not be
    written (the change itself stands: it was made)."""

    task: Task | None = None
    done: str = ""
    message: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    refused: bool = False
    audit_error: str = ""

    @property
    def ok(self) -> bool:
        return self.task is not None or bool(self.done)


def role_refusal(role: Role, request: OpRequest) -> str:
    """The words for a role below `request.needs`."""
    if role is Role.VIEWER and request.needs is Role.OPERATOR:
        return VIEWER_REFUSAL
    what = REFUSAL_WORDS.get(request.operation, request.operation.replace("_", " "))
    return f"{what} needs the {request.needs} role; you are {role}"


class Operations:
    """The change path of one console: its actor (who asks, with which role), its
    audit log, and whether it is read-only. Thread-safe as long as `backend` is."""

    def __init__(self, actor: Actor, audit: AuditLog, backend: Callable[[str], Backend],
                 read_only: bool = False,
                 watch: Callable[[str, AuditRecord], None] | None = None) -> None:
        """`backend(cluster)` gives a cluster's backend (BackendError when there is
        none); `watch(cluster, record)` is handed every "started" record, so the end of
        its task is audited too."""
        self.actor = actor
        self.audit = audit
        self.read_only = read_only
        self.backend = backend
        self._watch = watch

    def allowed(self, needs: Role = Role.OPERATOR) -> bool:
        """May this console make changes that need the role `needs`? What the palette
        asks before it offers one."""
        return not self.read_only and self.actor.role.allows(needs)

    def refusal(self, request: OpRequest) -> str | None:
        """Why this console may not make the change (read-only mode, then the role), or
        None. Pure: checked before a form opens, so no one fills one in vain."""
        if self.read_only:
            return READ_ONLY_REFUSAL
        if not self.actor.role.allows(request.needs):
            return role_refusal(self.actor.role, request)
        return None

    def refuse(self, request: OpRequest, reason: str) -> Outcome:
        """Refuse without calling the backend: the refusal is audited."""
        return Outcome(message=reason, refused=True,
                       audit_error=self.record(request, f"refused: {reason}"))

    def perform(self, request: OpRequest, call: Change) -> Outcome:
        """Make one change: the checks, the backend call, the audit record; refused,
        the backend not called, when the audit log cannot be written. Never raises
        for what a backend says (BackendError, InvalidInput, or a backend's bug): each
        becomes the outcome's message, audited "error: ..."."""
        if (reason := self.refusal(request)) is not None:
            return self.refuse(request, reason)
        if unwritable := self.audit.unwritable():
            # Fail closed: a change that no record would tell of is not made (a full
            # disk, a state directory that is a file). Its refusal cannot be recorded.
            log.error("%s not done: %s", request.description, unwritable)
            return Outcome(message=f"not done: {unwritable}", refused=True)
        try:
            result = call(self.backend(request.cluster))
        except InvalidInput as exc:
            outcome = Outcome(message=exc.message, fields=exc.fields)
        except BackendError as exc:
            outcome = Outcome(message=exc.message)
        except Exception as exc:  # a backend bug: say so, keep the console alive
            log.exception("backend call %s failed", request.description)
            outcome = Outcome(message=f"internal error in the backend: {exc}")
        else:
            outcome = Outcome(task=result) if isinstance(result, Task) else Outcome(done=result)
        if outcome.task is not None:
            written = self.record(request, "started", outcome.task.id)
        else:
            written = self.record(request, "done" if outcome.ok else f"error: {outcome.message}")
        return Outcome(outcome.task, outcome.done, outcome.message, outcome.fields,
                       audit_error=written)

    def record(self, request: OpRequest, result: str, task_id: str | None = None,
               watch: bool = True) -> str:
        """Append one record of this console's (what `perform` writes; also what is not
        a backend call of its own, as a serial console's start and end). With `watch`
        False, a started task's end is not left to the polls: the caller records it (a
        bulk action's summary task, which is the console's own and no poll lists).
        Returns "" when written, else why not (an OSError's words); never raises."""
        actor = self.actor
        record = AuditRecord(
            user=actor.user, role=str(actor.role), source=actor.source,
            cluster=request.cluster, target=request.target, operation=request.operation,
            result=result, parameters=dict(request.parameters), task_id=task_id)
        try:
            self.audit.append(record)
        except OSError as exc:
            log.error("audit log not written: %s", exc)
            return f"the audit log could not be written: {exc}"
        if watch and task_id is not None and self._watch is not None:
            self._watch(request.cluster, record)
        return ""
