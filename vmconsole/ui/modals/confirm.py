"""Ask before something destructive: Yes or No, defaulting to No (`QuestionScreen`):
only `y` or the Yes button answer Yes."""

from __future__ import annotations

from textual.binding import Binding

from vmconsole.ui.modals.question import NO, Answer, QuestionScreen


class ConfirmScreen(QuestionScreen[bool]):
    BINDINGS = [
        Binding("escape,n", "answer(False)", "No", id="confirm.no"),
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
    ]

    def __init__(self, title: str, question: str, warning: str = "",
                 yes_label: str = "Yes", lines: list[str] | None = None,
                 skipped: list[str] | None = None) -> None:
        super().__init__(title, question, warning, lines, skipped)
        self.yes_label = yes_label

    def answers(self) -> list[Answer[bool]]:
        return [Answer("yes", f"{self.yes_label} (y)", "error", True),
                Answer(NO, "No (n)", "primary", False)]
