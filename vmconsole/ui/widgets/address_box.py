"""The ping panel's address box: an address typed to ping it (`ADDRESS` for ICMP,
`ADDRESS:PORT` for TCP). It takes the focus only while an address is typed (the app's
`W`, `w` with no guest selected, or a click), never by Tab, so the console's keys are
never typed into it by accident; Escape gives the focus back where it was."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from textual import events
from textual.binding import Binding
from textual.widget import Widget

from vmconsole.ui.typeahead import typed_into
from vmconsole.ui.widgets.plain_input import PlainInput

if TYPE_CHECKING:  # what to probe is loaded with the first measurement
    from vmconsole.monitor.ping.targets import ProbeTarget

_TCP_ADDRESS = re.compile(r"^\[?(?P<host>[^\]]+?)\]?:(?P<port>\d{1,5})$")


def target_from_text(text: str) -> ProbeTarget:
    """"10.0.0.5" is ICMP; "10.0.0.5:22" (or "[::1]:22") is TCP. May resolve a name."""
    from vmconsole.monitor.ping.targets import ProbeTarget

    text = text.strip()
    tcp = _TCP_ADDRESS.match(text)
    # An IPv6 address has colons of its own: there only "[address]:port" means TCP.
    if tcp and (text.startswith("[") or text.count(":") == 1):
        return ProbeTarget.tcp(tcp["host"], int(tcp["port"]))
    return ProbeTarget.icmp(text)



class AddressBox(PlainInput):
    """The address box (a `PlainInput`: hidden characters pasted are left out):
    focusable only while an address is being typed (see the module's doc), so Tab never
    lands in it and console keys never end up in it."""

    # Shown: the key line said only "/ Filter" (the app's) while an address was typed.
    BINDINGS = [Binding("enter", "submit", "Ping"),
                Binding("escape", "leave", "Leave the address box", id="ping.leave")]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.can_focus = False
        self._return_to: Widget | None = None

    def edit(self) -> None:
        """Take the focus to type an address, with the keys typed in the same burst as
        the key that asked (`W db1`: "db1", not `d` on the tree); it goes back where it
        was afterwards."""
        focused = self.screen.focused
        self._return_to = focused if focused is not self else self._return_to
        self.can_focus = True
        self.add_class("editing")
        typed_into(self.app, self)

    async def action_submit(self) -> None:
        """Enter: the address to the panel (Input.Submitted), and the box left now, as
        Esc leaves it: the panel's handler comes on a later turn, after the keys typed
        behind Enter in the same burst had been typed into the box."""
        await super().action_submit()
        self.action_leave()

    def action_leave(self) -> None:
        """Escape (and Enter): the focus back where it was, at once, so that the keys
        typed after it in the same burst reach that widget, not this box (PlainInput
        sends them on). Once left, it stays left (the panel leaves it on Enter too)."""
        if not self.can_focus:
            return
        target = self._return_to
        self._return_to = None
        self.can_focus = False
        self.remove_class("editing")
        if target is not None and target.is_attached and target.focusable:
            self.screen.set_focus(target)
        else:
            self.screen.focus_next()

    def on_click(self, event: events.Click) -> None:
        if not self.has_focus:
            self.edit()

    def on_blur(self) -> None:
        self.can_focus = False
        self.remove_class("editing")
