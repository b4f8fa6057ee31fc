"""`?` over every screen of the console that stops the app's keys.

Textual stops at a modal screen when it looks for a key's binding: the app's `?` never
reached past the HA rules, a panel, a form or a question, so `?` did nothing there. Each
such screen gets the same `?` from this one base, bound to the app's help (which lists
the screen's own keys first). It has the app's id, `app.help`: one `[keys]` remap moves
`?` everywhere. A widget that takes the key as text (a form's input box, the serial
console's guest) still gets it: Textual leaves a binding out for a key the focused
widget consumes (`check_consume_key`)."""

from __future__ import annotations

from typing import TypeVar

from textual.binding import Binding
from textual.screen import ModalScreen

ResultT = TypeVar("ResultT")


class ModalWithHelp(ModalScreen[ResultT]):
    """A ModalScreen on which `?` shows the console's help."""

    BINDINGS = [Binding("question_mark", "app.help", "Help: every key, this screen's first",
                        show=False, id="app.help")]
