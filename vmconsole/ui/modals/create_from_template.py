"""Create from template: the clone form with a template as its source, so the new guest
may be linked (copy-on-write) where the template's storage allows it."""

from __future__ import annotations

from vmconsole.ui.labels import guest_title
from vmconsole.ui.modals.clone import CloneForm, CloneSource
from vmconsole.ui.modals.form import Submitter


class CreateFromTemplateForm(CloneForm):
    SUBMIT_LABEL = "Create"

    def __init__(self, source: CloneSource, submit: Submitter) -> None:
        super().__init__(f"New guest from template {guest_title(source.guest)}", source,
                         submit)
