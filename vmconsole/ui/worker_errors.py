"""Background work that fails is said, never lost.

Every worker runs with `exit_on_error=False`, so a failure does not end a console that
other people (a served class) may be using; Textual then only records the error on the
worker and posts `Worker.StateChanged` to the worker's own node, without bubbling. The
App's handler (`ConsoleBase.on_worker_state_changed`) is the one place that turns a
failure into a notification and a log line; screens and widgets that run workers pass
their failures up to it with `ForwardsWorkerErrors`.
"""

from __future__ import annotations

from textual.worker import Worker, WorkerFailed, WorkerState

from vmconsole.backends.base import BackendError
from vmconsole.text import visible_lines


def failure_text(error: BaseException) -> str:
    """What to tell the user about `error`: a backend's own message as it is, anything
    else (a bug) with its type, so it can be reported. The result is untrusted text:
    show it with markup off."""
    if isinstance(error, BackendError):
        return visible_lines(error.message)
    return visible_lines(f"internal error: {type(error).__name__}: {error}")


def reported_failure(event: Worker.StateChanged) -> BaseException | None:
    """The error the handler must report for this state change, or None: not a
    failure, or a `WorkerFailed` re-raised from an inner worker whose own failure was
    reported already."""
    if event.state is not WorkerState.ERROR:
        return None
    error = event.worker.error
    if error is None or isinstance(error, WorkerFailed):
        return None
    return error


class ForwardsWorkerErrors:
    """For a Screen or Widget that runs workers: hands their failures to the App's
    handler (Textual delivers a worker's state only to the node that started it)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if reported_failure(event) is not None:
            self.app.post_message(Worker.StateChanged(event.worker, event.state))  # type: ignore[attr-defined]
