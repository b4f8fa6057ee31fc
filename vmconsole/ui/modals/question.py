"""The frame of every question asked before something destructive: a title, the
question, what will happen (a list, and the objects left alone with why), a warning and
a row of answers. The answer defaults to No: the focus starts on No, Escape and `n`
answer it, and a key read before the question was drawn, or just after it
(ANSWER_AFTER_S), is not its answer (those of the same burst never reach it:
`ui.typeahead`). Names are data: every text is shown as Content, escaped."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generic, TypeVar

from textual import events, on
from textual._time import get_time  # the clock that stamps each Message.time
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Static
from textual.widgets.button import ButtonVariant

from vmconsole.text import visible_lines
from vmconsole.ui.modals.dialog import Dialog

AnswerT = TypeVar("AnswerT")
NO = "no"  # the id of the button that answers No, where the focus starts


@dataclass(frozen=True, slots=True)
class Answer(Generic[AnswerT]):
    """A button: its id, its label (with its key), Textual's button variant, and the
    value the question is dismissed with."""

    id: str
    label: str
    variant: ButtonVariant
    value: AnswerT


class QuestionScreen(Dialog[AnswerT]):
    """Subclasses give their answers (`answers()`, No last) and bind their keys to
    `answer(value)`, with ids for the keymap."""

    TYPEAHEAD = False
    #: When the question was first drawn (Textual's clock); None until then.
    drawn_at: float | None = None
    #: Seconds after its first frame before a key can answer the question. The frame is
    #: made before it reaches the terminal (through tmux, a `y` sent 30 ms after `X`
    #: was read 6 ms after the frame was made, and answered a question the user had
    #: not seen), and a person's reaction to what appears takes 0.15 s and more: a
    #: key read sooner was typed before the question showed.
    ANSWER_AFTER_S = 0.1
    #: Keys read before this (Textual's clock) are not the answer: each one ignored
    #: moves it ANSWER_AFTER_S on, so a key held down since before the question (its
    #: repeats 30 ms apart) never answers it.
    _ignored_until = 0.0
    DEFAULT_CSS = """
    QuestionScreen { align: center middle; }
    QuestionScreen > Vertical {
        width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: round $error; border-title-color: $text; background: $surface;
        padding: 0 1;
    }
    QuestionScreen .question { margin-top: 1; }
    QuestionScreen VerticalScroll { height: auto; max-height: 16; margin-top: 1; }
    QuestionScreen .skipped { color: $text-muted; }
    QuestionScreen .warning { color: $warning; margin-top: 1; }
    QuestionScreen Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    QuestionScreen Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("left", "app.focus_previous", show=False),
        Binding("right", "app.focus_next", show=False),
    ]

    def __init__(self, title: str, question: str, warning: str = "",
                 lines: list[str] | None = None, skipped: list[str] | None = None) -> None:
        """`lines` (what happens, one line each) and `skipped` (what is left alone, and
        why) show in a scrolled box, which a question without `lines` has not."""
        super().__init__()
        self.title_text, self.question, self.warning = title, question, warning
        self.lines, self.skipped = lines, skipped or []

    def answers(self) -> list[Answer[AnswerT]]:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical() as frame:
            frame.border_title = Content(visible_lines(self.title_text))
            yield Static(Content(visible_lines(self.question)), classes="question")
            if self.lines is not None:
                # One Static per list, not per guest: 200 widgets took a second to mount
                # and to remove on a busy machine (benchmarks/bulk.py).
                with VerticalScroll():
                    if self.lines:
                        yield Static(Content(visible_lines("\n".join(self.lines))),
                                     classes="target")
                    if self.skipped:
                        yield Static(Content(visible_lines("\n".join(self.skipped))),
                                     classes="skipped")
            if self.warning:
                yield Static(Content(visible_lines(self.warning)), classes="warning")
            with Horizontal():
                for answer in self.answers():
                    yield Button(answer.label, id=answer.id, variant=answer.variant,
                                 compact=True)

    def on_mount(self) -> None:
        self.query_one(f"#{NO}", Button).focus()

    def _compositor_refresh(self) -> None:
        # Stamped where the frame is made, not in a callback after it: a callback ran
        # after a key the user sent on seeing the question (issue: a `y` pressed once
        # the text showed was ignored).
        super()._compositor_refresh()
        if self.drawn_at is None and self is self.app.screen:
            self.drawn_at = get_time()

    def on_key(self, event: events.Key) -> None:
        """A key read before the question was drawn, or within ANSWER_AFTER_S of it, is
        not its answer: `X`, then `y` in a second write 30 ms later stopped a guest, the
        `y` read while the question was on its way to the screen. Textual stamps each
        key when the terminal's bytes are read (`Message.time`); a key kept and
        replayed by the console (`ui.key_order`, `ui.typeahead`) keeps its stamp. Nor
        is a key read within ANSWER_AFTER_S of one ignored: a `y` held down answered
        once its repeats passed the first ANSWER_AFTER_S."""
        drawn = self.drawn_at if self.drawn_at is not None else math.inf
        if event.time < max(drawn + self.ANSWER_AFTER_S, self._ignored_until):
            self._ignored_until = max(self._ignored_until, event.time + self.ANSWER_AFTER_S)
            event.stop()
            event.prevent_default()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        values = {answer.id: answer.value for answer in self.answers()}
        self.action_answer(values[event.button.id or NO])

    def action_answer(self, value: AnswerT) -> None:
        self.dismiss(value)
