"""The frame every operation form shares: labelled fields with their reasons shown next
to them, a Submit that validates first and keeps the form open while the backend
answers (so its refusal of a field lands next to that field, and in the form only: no
toast over it), and Escape to cancel.

A form is a `ModalScreen[Task | None]`: it dismisses with the task the backend started,
or None when cancelled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    OptionList,
    RadioButton,
    RadioSet,
    Select,
    Static,
)
from textual.widgets._toggle_button import ToggleButton  # the base of both; not exported

from vmconsole.backends.base import Task
from vmconsole.operations import Outcome
from vmconsole.text import visible_lines
from vmconsole.ui.key_order import KeyOrder, settle
from vmconsole.ui.keymapped import keymapped
from vmconsole.ui.modals.dialog import Dialog
from vmconsole.ui.modals.form_summary import Summary, said_once
from vmconsole.ui.operations import answered_in_form
from vmconsole.ui.worker_errors import ForwardsWorkerErrors

Submitter = Callable[[Any], Awaitable[Outcome]]

#: Keys typed behind a form's Enter wait this long for the backend's answer (seconds): a
#: submission starts a task and returns, so it is quick unless a host does not answer;
#: past it they go to the form, still up, as a slow typist's would.
SUBMISSION_KEYS_WAIT_S = 10.0

FORM_CSS = """
FormScreen { align: center middle; }
FormScreen > #frame {
    width: 78; max-width: 100%; height: auto; max-height: 100%;
    border: round $primary; border-title-color: $text; background: $surface; padding: 0 1;
}
FormScreen #fields { height: auto; max-height: 16; }
FormScreen .row { height: auto; margin-top: 1; }
FormScreen .row > Label { width: 16; padding-top: 0; color: $text-muted; }
FormScreen .row > Input, FormScreen .row > Select { width: 1fr; }
FormScreen .note { color: $text-muted; padding-left: 16; }
FormScreen .field-error { color: $error; padding-left: 16; display: none; }
FormScreen .field-error.shown { display: block; }
FormScreen #form-error { color: $error; display: none; }
FormScreen #form-error.shown { display: block; }
FormScreen #buttons { height: auto; align-horizontal: right; margin-top: 1; }
FormScreen #buttons > Button { margin-left: 2; }
/* Toasts rise from the bottom right, where a form's buttons are: on a form they hang
   from the top instead, at most about two of them (the newest; the rack scrolls). */
FormScreen ToastRack { dock: top; align: right top; max-height: 8; margin-bottom: 0; }
"""


# Characters per line of an error: a reason may quote what was typed (5,000 characters
# pasted in a field), which must not push the form's buttons off the screen.
ERROR_LINE_LIMIT = 200
UNREAD_REFUSAL_S = 1.0  # a refusal shown this short a time before Esc was not read



class MarkedToggle(ToggleButton):
    """A form's checkbox or radio button: it shows its mark when on and nothing when
    off, not only a change of colour; in ASCII mode (the app's class `-ascii`) its mark
    and sides are ASCII too (`[X]`, `(*)`), Textual's half blocks being left blank there."""

    MARK: ClassVar[str]
    ASCII_MARK: ClassVar[str]
    ASCII_SIDES: ClassVar[tuple[str, str]]
    _ascii = False  # known once mounted; Textual sets a value given before that

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._show_state()

    def on_mount(self) -> None:
        self._ascii = self.app.has_class("-ascii")
        if self._ascii:
            self.BUTTON_LEFT, self.BUTTON_RIGHT = self.ASCII_SIDES
        self._show_state()

    def watch_value(self) -> None:
        self._show_state()
        super().watch_value()

    def _show_state(self) -> None:
        mark = self.ASCII_MARK if self._ascii else self.MARK
        self.BUTTON_INNER = mark if self.value else " "
        self.refresh()


class FormCheckbox(MarkedToggle, Checkbox, inherit_bindings=False):
    """A form's checkbox: Space toggles it; Enter submits the form, as in every other
    field (Textual's Checkbox toggles on Enter too, so Enter meant to submit un-ticked
    it). It shows X when ticked and nothing when not."""

    BINDINGS = [Binding("space", "toggle_button", "Tick or untick", show=False,
                        id="form.toggle")]
    MARK = ASCII_MARK = "X"
    ASCII_SIDES = ("[", "]")


class FormRadioButton(MarkedToggle, RadioButton):
    """A radio button of a `FormRadioSet`: `●` on the one chosen, nothing on the others."""

    MARK, ASCII_MARK = "●", "*"
    ASCII_SIDES = ("(", ")")


class FormRadioSet(RadioSet):
    """A form's radio buttons: the arrows move the choice itself, as in a browser's or a
    desktop dialog's radio group (Textual's RadioSet moves only a highlight, which Space
    then picks), so that Enter, which submits the form, submits what the user sees."""

    def action_next_button(self) -> None:
        super().action_next_button()
        self._pick()

    def action_previous_button(self) -> None:
        super().action_previous_button()
        self._pick()

    def _pick(self) -> None:
        if self._selected is not None:
            button = self._nodes[self._selected]
            if isinstance(button, RadioButton) and not button.value:
                button.value = True


class FormScreen(ForwardsWorkerErrors, Dialog[Task | None]):
    """Subclasses compose their fields with `row()` and implement `collect()`."""

    DEFAULT_CSS = FORM_CSS
    # Enter submits from any field that has no use of its own for it (an Input submits
    # through Input.Submitted; a list and a button keep their Enter). A closed Select and
    # a RadioSet take Enter too (to open, to pick), which left a form with no key to
    # submit from them: there Enter submits, as from a checkbox; Space or an arrow opens
    # the Select (Textual's other keys for it), and the arrows pick in a FormRadioSet.
    # The key line shows Enter (the priority binding is the one listed for the key),
    # Tab and Esc: what a form answers to.
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="form.cancel"),
                Binding("enter", "submit", "Submit", show=False, id="form.submit"),
                Binding("enter", "submit_from_choice", "Submit", priority=True,
                        id="form.submit_from_choice"),
                Binding("tab", "next_field", "Next field", id="form.next")]
    SUBMIT_LABEL = "Submit"
    # A backend's parameter name -> the field that shows its reason, where they differ.
    FIELD_FOR: dict[str, str] = {}

    def __init__(self, title: str, submit: Submitter) -> None:
        super().__init__()
        self.form_title = title
        self._refused: tuple[float, str] = (0.0, "")  # when the last refusal came, and it
        self._summary = Summary()  # what is said above the buttons
        self._submit = submit

    # --- building -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="frame") as frame:
            # A title names a guest, a reason may quote the backend: data, never markup.
            frame.border_title = Content(visible_lines(self.form_title))
            with VerticalScroll(id="fields", can_focus=False):
                yield from self.fields()
            yield Static("", id="form-error")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button(self.SUBMIT_LABEL, id="submit", variant="primary", compact=True)

    def fields(self) -> ComposeResult:
        raise NotImplementedError

    @staticmethod
    def row(label: str, widget: Widget, name: str, note: str = "") -> ComposeResult:
        """A labelled field; its reason (when refused) appears below it."""
        with Horizontal(classes="row", id=f"row-{name}"):
            yield Label(label, markup=False)
            yield widget
        if note:
            yield Static(note, classes="note", id=f"note-{name}", markup=False)
        yield Static("", classes="field-error", id=f"error-{name}")

    def collect(self) -> tuple[Any, dict[str, str]]:
        """The parameters to submit, and the reason per field name where one is wrong."""
        raise NotImplementedError

    def action_next_field(self) -> None:
        self.focus_next()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Tab is listed as "Next field" only where there is another field or button to
        go to: a refused fault-tolerance form has Cancel alone (`FaultToleranceForm`)."""
        if action == "next_field" and len(self.focus_chain) < 2:
            return False
        return super().check_action(action, parameters)

    # --- errors -------------------------------------------------------------------------

    def show_errors(self, errors: dict[str, str], message: str = "") -> None:
        """Each reason of `errors` (parameter name -> reason) under its field, and above
        the buttons `message`, then the reasons no field shows, as "name: reason": each
        reason said once (`form_summary.said_once`)."""
        shown: set[str] = set()
        for box in self.query(".field-error"):
            box.remove_class("shown")
        for name, reason in errors.items():
            field_name = self.FIELD_FOR.get(name, name)
            boxes = self.query(f"#error-{field_name}")
            if boxes:
                boxes.first(Static).update(Content(visible_lines(reason, ERROR_LINE_LIMIT)))
                boxes.first().add_class("shown")
                shown.add(field_name)
        self._show_summary(said_once(message, errors, self.FIELD_FOR, frozenset(shown)))
        if errors:
            first = next(iter(errors))
            widgets = self.query(f"#{self.FIELD_FOR.get(first, first)}")
            if widgets:
                widgets.first().focus()

    def _show_summary(self, summary: Summary) -> None:
        self._summary = summary
        form_error = self.query_one("#form-error", Static)
        form_error.update(Content(visible_lines(summary.text, ERROR_LINE_LIMIT)))
        form_error.set_class(bool(summary.text), "shown")

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(RadioSet.Changed)
    @on(OptionList.OptionHighlighted)
    def _clear_fixed_error(self, event: Input.Changed | Select.Changed | Checkbox.Changed
                           | RadioSet.Changed | OptionList.OptionHighlighted) -> None:
        """A field's reason goes as soon as its value is one the form's own checks
        (`collect`) take, not at the next submit: an old reason under a fixed field reads
        as if the new value were refused too; a value those checks refuse shows their
        reason instead. A reason the backend gave is about the value it was sent, so it
        goes with that value; and the message above the buttons with the last field it
        came with (`Summary.without_field`)."""
        row = next((node for node in event.control.ancestors_with_self
                    if node.has_class("row")), None)
        if row is None or not row.id:
            return
        name = row.id.removeprefix("row-")
        boxes = self.query(f"#error-{name}.shown")
        if not boxes:
            return
        _, errors = self.collect()
        own = next((reason for field, reason in errors.items()
                    if self.FIELD_FOR.get(field, field) == name), None)
        if own is None:
            boxes.first().remove_class("shown")
        else:  # the new value is refused too, by the form: its reason, not the old one's
            boxes.first(Static).update(Content(visible_lines(own, ERROR_LINE_LIMIT)))
        self._show_summary(self._summary.without_field(name))

    # --- submitting ---------------------------------------------------------------------

    @on(Button.Pressed, "#submit")
    @on(Input.Submitted)
    def action_submit(self) -> None:
        submit = self.query_one("#submit", Button)
        if submit.disabled:  # one submission at a time: a second Enter must not clone twice
            return
        params, errors = self.collect()
        if errors:
            self.show_errors(errors)
            return
        self.show_errors({})
        submit.disabled = True
        answered = asyncio.get_running_loop().create_future()
        if isinstance(order := getattr(self.app, "key_order", None), KeyOrder):
            order.goes_on(answered, SUBMISSION_KEYS_WAIT_S, self._cancel_keys())
        self.run_worker(self._send(params, answered), group="form", exit_on_error=False,
                        name=self.form_title)

    def action_submit_from_choice(self) -> None:
        """Enter on a closed Select or a RadioSet submits; anywhere else it goes on to
        the focused widget (an open Select's list picks the option)."""
        if not isinstance(self.focused, Select | RadioSet):
            raise SkipAction()
        self.action_submit()

    async def _send(self, params: Any, answered: asyncio.Future[None]) -> None:
        """Submit `params`; then the form closes, or shows the reasons it was refused
        for. `answered` is set after either (or an error): keys typed behind the Enter
        wait for it (`KeyOrder.goes_on`)."""
        try:
            try:
                with answered_in_form():
                    outcome = await self._submit(params)
            finally:
                self.query_one("#submit", Button).disabled = False
            if outcome.ok:
                self.dismiss(outcome.task)
            else:
                self.show_errors(outcome.fields, outcome.message)
                said = [self._summary.message] if self._summary.message else []
                said += [f"{name}: {reason}" for name, reason in outcome.fields.items()]
                self._refused = (time.monotonic(), "\n".join(said))
        finally:
            settle(answered)

    def _cancel_keys(self) -> set[str]:
        """The keys the form's Cancel is bound to now (the user's keymap applied)."""
        return {key for key, bound in keymapped(self).key_to_bindings.items()
                if any(binding.action == "cancel" for binding in bound)}

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        # Enter and Esc in one burst: a refusal that came at once was shown by the
        # fields and gone with the form before it could be read; said as a toast too.
        at, said = self._refused
        if said and time.monotonic() - at < UNREAD_REFUSAL_S:
            self.app.notify(said, title=f"{self.form_title}: refused", severity="error",
                            timeout=10)  # the app's notify makes it visible
        self.dismiss(None)

