"""Shutdown: ask the guest OS to power off, and how long to wait for it."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Input

from vmconsole.ui.modals import validate
from vmconsole.ui.modals.form import FormScreen, Submitter
from vmconsole.ui.widgets.plain_input import PlainInput

MAX_TIMEOUT = 3600


class ShutdownForm(FormScreen):
    SUBMIT_LABEL = "Shut down"

    def __init__(self, guest: str, submit: Submitter, timeout: int = 60) -> None:
        """`guest` as titles name it (`labels.guest_title`); `timeout` in seconds."""
        super().__init__(f"Shut down {guest}", submit)
        self.timeout = timeout

    def fields(self) -> ComposeResult:
        yield from self.row("Timeout (s)", PlainInput(str(self.timeout), id="timeout",
                                                 compact=True), "timeout",
                            "the task fails if the guest is still running by then; "
                            "use Stop to cut the power")

    def collect(self) -> tuple[Any, dict[str, str]]:
        text = self.query_one("#timeout", Input).value.strip()
        if reason := validate.whole_number(text, 1, MAX_TIMEOUT):
            return None, {"timeout": reason}
        return float(text), {}
