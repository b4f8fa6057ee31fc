"""Fault Tolerance for one VM: the limits that decide whether and where its shadow copy
may run (the FT link, FT VMs and vCPUs per host), each node's verdict with its reason,
and the choice of the shadow's node; or, for a protected VM, its state and turning FT
off. The backend enforces the same limits: its refusal lands next to the field."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Button, Select, Static

from vmconsole.backends.ha_config import FTLimits
from vmconsole.model import FaultTolerance, Guest
from vmconsole.text import visible, visible_lines
from vmconsole.ui.ft_text import limits_table, link_text, price_text, state_text
from vmconsole.ui.labels import guest_title
from vmconsole.ui.modals.form import FormScreen, Submitter

TURN_OFF = "\x00off"  # the submitted value that turns FT off


def refusal_text(refusals: tuple[str, ...]) -> str:
    """"Cannot protect it: <reason>", or with several reasons one per line, each to be
    fixed before FT can protect the VM."""
    if len(refusals) == 1:
        return f"Cannot protect it: {refusals[0]}"
    return "\n".join([f"Cannot protect it, for {len(refusals)} reasons:",
                      *(f"- {reason}" for reason in refusals)])


class FaultToleranceForm(FormScreen):
    """Submits the shadow's node, or TURN_OFF."""

    FIELD_FOR = {"node": "secondary"}
    # What takes the focus when `on_mount` gives it to none: the shadow's node. A refused
    # form has none, so nothing takes it (Textual's "*" gave it to Cancel, which closed
    # the form on an Enter meant to submit); Tab reaches Cancel, Esc closes.
    AUTO_FOCUS = "#secondary"

    def __init__(self, guest: Guest, limits: FTLimits, submit: Submitter) -> None:
        verb = "Fault tolerance off" if limits.protected else "Fault tolerance"
        super().__init__(f"{verb}: {guest_title(guest)}", submit)
        self.SUBMIT_LABEL = "Turn off" if limits.protected else "Protect"
        self.guest, self.limits = guest, limits
        self.refused = bool(limits.refusals) and not limits.protected

    def fields(self) -> ComposeResult:
        limits = self.limits
        yield Static(Text(link_text(limits)), id="ft-link")
        yield Static(limits_table(limits), id="ft-hosts")
        if limits.protected:
            state = FaultTolerance(limits.secondary, limits.checkpoint_ms,
                                   limits.takeover_ms, limits.slowdown, limits.link_load)
            yield Static(Text(state_text(limits.node, state)), id="ft-state")
            yield Static(Text(price_text(state)), id="ft-price")
            yield Static(Text("Turning FT off removes the shadow copy: a failure of "
                              f"{visible(limits.node)} then stops the VM until HA or you "
                              "start it again."), classes="warning")
            return
        yield Static(Text(f"Price for this VM: primary ~{limits.slowdown:.0f}% slower, FT "
                          f"link {limits.link_load:.0f}% busy (checkpoint every "
                          f"{limits.checkpoint_ms:.0f} ms)"), id="ft-price")
        if self.refused:
            # Every reason, whole, and no node to choose: none could take the shadow.
            yield Static(Content(visible_lines(refusal_text(limits.refusals))),
                         id="error-refusal", classes="field-error shown")
            return
        choices = [h for h in limits.hosts if h.node != limits.node]
        # The first node that can hold the shadow; else the first, whose refusal the
        # backend then gives next to the field.
        first = next((h.node for h in choices if h.refusal is None),
                     choices[0].node if choices else None)
        yield from self.row("Shadow on", Select(
            [(Text(visible(h.node) + ("" if h.refusal is None else "  (over a limit)")),
              h.node) for h in choices], value=first or Select.NULL,
            allow_blank=first is None, id="secondary", compact=True), "secondary")

    def on_mount(self) -> None:
        submit = self.query_one("#submit", Button)
        if self.limits.protected:  # turning protection off: Cancel keeps the focus
            self.query_one("#cancel", Button).focus()
        elif self.refused:  # no Protect button, no Enter (README)
            submit.display = False
        else:  # the first node that can hold the shadow is chosen: Enter protects
            submit.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A refused form offers no Submit: not on the key line, not on Enter."""
        if self.refused and action in ("submit", "submit_from_choice"):
            return False
        return super().check_action(action, parameters)

    def collect(self) -> tuple[Any, dict[str, str]]:
        if self.limits.protected:
            return TURN_OFF, {}
        if self.refused:  # Enter is off (`check_action`); the reasons stay as shown
            return None, {"refusal": refusal_text(self.limits.refusals)}
        value = self.query_one("#secondary", Select).value
        if value is Select.NULL:
            return None, {"secondary": "choose the node for the shadow copy"}
        return str(value), {}
