"""Ask before something destructive. The answer defaults to No: focus starts on No,
Escape and `n` answer No, only `y` or the Yes button answer Yes."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from vmconsole.text import visible_lines


class ConfirmScreen(ModalScreen[bool]):
    # A "y" typed before the question was asked is not its answer (`ui.typeahead`).
    TYPEAHEAD = False
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: round $error; border-title-color: $text; background: $surface;
        padding: 0 1;
    }
    ConfirmScreen .question { margin-top: 1; }
    ConfirmScreen .warning { color: $warning; margin-top: 1; }
    ConfirmScreen Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    ConfirmScreen Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("escape,n", "answer(False)", "No", id="confirm.no"),
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("left", "app.focus_previous", show=False),
        Binding("right", "app.focus_next", show=False),
    ]

    def __init__(self, title: str, question: str, warning: str = "",
                 yes_label: str = "Yes") -> None:
        super().__init__()
        self.title_text, self.question, self.warning = title, question, warning
        self.yes_label = yes_label

    def compose(self) -> ComposeResult:
        with Vertical() as frame:
            # Titles and questions name guests: data, never markup or terminal control.
            frame.border_title = Content(visible_lines(self.title_text))
            yield Static(Content(visible_lines(self.question)), classes="question")
            if self.warning:
                yield Static(Content(visible_lines(self.warning)), classes="warning")
            with Horizontal():
                yield Button(f"{self.yes_label} (y)", id="yes", variant="error", compact=True)
                yield Button("No (n)", id="no", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
