"""The frame of every dialog over the console (a form, a question, a picker, a record's
view, the help): a ModalScreen with its own key line at its foot.

Textual's Footer lists the bindings of the screen it is on. The console's footer is the
main screen's, so over a dialog it went on listing the main screen's keys (since those
are off behind another screen, only `? Help`, `q Quit` and the palette), never the
dialog's own Enter, Esc or Tab. A dialog's own `KeyFooter`, docked under it, lists what
the dialog answers to, from its bindings and the keymap, as the main screen's does."""

from __future__ import annotations

from typing import TypeVar

from vmconsole.ui.modals.help_key import ModalWithHelp
from vmconsole.ui.widgets.key_footer import KeyFooter

ResultT = TypeVar("ResultT")


class Dialog(ModalWithHelp[ResultT]):
    """A ModalScreen (`?` shows the help over it) whose key line lists its own keys.
    Subclasses keep their own `on_mount` (Textual calls each class's handler along the
    MRO)."""

    def on_mount(self) -> None:
        self.mount(KeyFooter())
