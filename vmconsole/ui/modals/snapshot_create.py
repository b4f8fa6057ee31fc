"""Take a snapshot: a name, a description and, for a running VM, whether to include its
RAM (so a rollback resumes it running, at the cost of writing all its memory) and, where
the backend can (vCenter, through VMware Tools), whether to quiesce its file systems."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.widgets import Checkbox, Input

from vmconsole.ui.modals import validate
from vmconsole.ui.modals.form import FormCheckbox, FormScreen, Submitter
from vmconsole.ui.widgets.plain_input import PlainInput


@dataclass(frozen=True, slots=True)
class SnapshotRequest:
    name: str
    description: str
    vmstate: bool
    quiesce: bool = False


class SnapshotCreateForm(FormScreen):
    SUBMIT_LABEL = "Take snapshot"

    def __init__(self, guest: str, existing: list[str], ram_possible: bool,
                 submit: Submitter, quiesce_possible: bool = False) -> None:
        """`guest` as titles name it (`labels.guest_title`)."""
        super().__init__(f"Snapshot of {guest}", submit)
        self.existing = existing
        self.ram_possible = ram_possible
        self.quiesce_possible = quiesce_possible

    def fields(self) -> ComposeResult:
        yield from self.row("Name", PlainInput(placeholder="e.g. before-upgrade", id="name",
                                          compact=True), "name")
        yield from self.row("Description", PlainInput(placeholder="optional", id="description",
                                                 compact=True), "description")
        if self.ram_possible:
            yield from self.row("", FormCheckbox("Include RAM", id="vmstate", compact=True),
                                "vmstate", "a rollback then resumes the VM running; "
                                "takes time in proportion to its memory")
        if self.quiesce_possible:
            yield from self.row("", Checkbox("Quiesce file systems", id="quiesce",
                                             compact=True), "quiesce",
                                "VMware Tools flushes the guest's writes first, so the disks "
                                "are consistent")

    def collect(self) -> tuple[Any, dict[str, str]]:
        name = self.query_one("#name", Input).value.strip()
        if reason := validate.snapshot_name(name, self.existing):
            return None, {"name": reason}
        vmstate = self.ram_possible and self.query_one("#vmstate", Checkbox).value
        quiesce = self.quiesce_possible and self.query_one("#quiesce", Checkbox).value
        return SnapshotRequest(name, self.query_one("#description", Input).value.strip(),
                               vmstate, quiesce), {}
