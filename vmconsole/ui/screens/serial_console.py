"""`C`: a running guest's serial console on a screen of the console, so it works in a
served SSH session as well as locally.

The guest's output is drawn from a terminal emulator's cells (ui/terminal.py), never
passed to the user's terminal. Every key goes to the guest, Ctrl+C and Ctrl+Q included,
except the detach key (`serial.detach`, Ctrl+] by default, as `virsh console` and
telnet use), which the title shows. A viewer's session is read-only: keys are not sent.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.geometry import Region
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from vmconsole.backends.base import Backend, BackendError
from vmconsole.backends.serial import ConsoleBusy
from vmconsole.operations import OpRequest
from vmconsole.text import visible
from vmconsole.ui.labels import guest_title
from vmconsole.ui.modals.confirm import ConfirmScreen
from vmconsole.ui.modals.help_key import ModalWithHelp
from vmconsole.ui.serial_link import AUDITED_AS, AuditWriter, ConsoleMode, SerialLink
from vmconsole.ui.terminal import key_bytes

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from vmconsole.ui.actions import Selection
    from vmconsole.ui.base_app import ConsoleBase

DETACH_ID = "serial.detach"
DETACH_KEY = "ctrl+right_square_bracket"
VIEWER_REFUSAL = ("your role is viewer: the serial console is for operators (the "
                  "config's serial_console_viewers = \"read-only\" lets viewers watch it)")
# A console that ended (or never opened), or a read-only one, is left with these as well
# as the detach key.
LEAVE_AFTER_END = ("escape", "q")


class SerialView(Widget, can_focus=True):
    """The guest's screen, sized to the widget; the keys typed, as a terminal sends them."""

    DEFAULT_CSS = "SerialView { width: 1fr; height: 1fr; }"
    BINDINGS = [Binding(DETACH_KEY, "screen.detach", "Detach from the serial console",
                        id=DETACH_ID, priority=True)]

    def __init__(self, link: SerialLink) -> None:
        super().__init__(id="serial-view")
        self.link = link
        self.ended = False
        self._lines: list[Text] = []

    def on_resize(self, event: events.Resize) -> None:
        self.link.resize(max(event.size.width, 1), max(event.size.height, 1))

    def render_line(self, y: int) -> Strip:
        lines = self._lines
        if y >= len(lines):
            return Strip.blank(self.size.width)
        segments = list(lines[y].render(self.app.console))
        return Strip(segments).crop_extend(0, self.size.width, None)

    def render_lines(self, crop: Region) -> list[Strip]:
        # One snapshot of the buffer per repaint, not one per row.
        self._lines = self.link.buffer.lines(cursor=self.has_focus and not self.ended)
        self.link.drawn()
        return super().render_lines(crop)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Every key is the guest's (the app's Ctrl+Q and Ctrl+P too), but the detach key."""
        return key not in self._detach_keys()

    def _detach_keys(self) -> list[str]:
        mapped = self.app._keymap.get(DETACH_ID, DETACH_KEY)  # the user's [keys]
        return [key.strip() for key in mapped.split(",")]

    async def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        # Keys reach no guest once it ended, nor in a read-only view: Esc leaves too.
        leaving = self.ended or self.link.mode is ConsoleMode.READ_ONLY
        if leaving and event.key in LEAVE_AFTER_END:
            self.screen.dismiss(None)
            return
        data = key_bytes(event.key, event.character)
        if data is not None:
            self.link.send(data)

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        # A terminal sends a pasted line break as Enter does.
        self.link.send(event.text.replace("\r\n", "\r").replace("\n", "\r").encode())


class SerialConsoleScreen(ModalWithHelp[None]):
    """The console of one guest, full screen under a one-line title."""

    DEFAULT_CSS = """
    SerialConsoleScreen { background: $background; }
    SerialConsoleScreen > #serial-title {
        height: 1; width: 1fr; background: $accent; color: $text; padding: 0 1;
    }
    """

    class Output(Message):
        """The guest wrote: draw again."""

    class Ended(Message):
        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    class Opened(Message):
        """The console is open (posted from the opening thread)."""

    class OpenFailed(Message):
        """The console could not be opened: `busy` when another client holds it."""

        def __init__(self, reason: str, busy: bool = False) -> None:
            super().__init__()
            self.reason = reason
            self.busy = busy

    def __init__(self, backend: Backend, cluster: str, guest_id: str, guest_title: str,
                 mode: ConsoleMode, audit: AuditWriter) -> None:
        """`audit` writes one audit record, passed in: it is called on plain threads,
        where Textual's `self.app` (a context variable) is not set."""
        super().__init__()
        self.backend, self.guest_title = backend, guest_title
        self.link = SerialLink(
            cluster, guest_id, mode, audit, lambda: self.post_message(self.Output()),
            lambda reason: self.post_message(self.Ended(reason)))
        self.state = "connecting…"

    def compose(self) -> ComposeResult:
        yield Static(id="serial-title", markup=False)
        yield SerialView(self.link)

    def on_mount(self) -> None:
        self._show_title()
        self.query_one(SerialView).focus()
        self._open(force=False)

    def _show_title(self) -> None:
        keys = self.query_one(SerialView)._detach_keys()
        key = self.app.get_key_display(Binding(keys[0], ""))
        # The way out first: at 80 columns a long name would push it off the line.
        parts = [f"{key} detaches", f"Serial console: {self.guest_title}"]
        if self.link.stream is not None:
            parts.append(visible(self.link.stream.device))
        if self.link.mode is ConsoleMode.READ_ONLY:
            parts.append("read-only")
        parts.append(self.state)
        self.query_one("#serial-title", Static).update(Content(" · ".join(parts)))

    @work(thread=True, group="serial-open", exit_on_error=False)
    def _open(self, force: bool) -> None:
        # The outcome is posted, not called on the app: the screen may have closed while
        # the console opened (the detach key, a served session dropped), where
        # `self.app` raises in this thread and a closed screen drops the message; the
        # link closes what opened late (`SerialLink.detach`).
        try:
            self.link.open(self.backend, force)
        except ConsoleBusy as exc:
            self.post_message(self.OpenFailed(exc.message, busy=True))
        except BackendError as exc:
            self.post_message(self.OpenFailed(exc.message))
        except Exception as exc:  # a bug: said in place, its traceback in the log
            log.exception("opening the serial console of %s", self.guest_title)
            self.post_message(self.OpenFailed(f"internal error: {exc} (see the log)"))
        else:
            self.post_message(self.Opened())

    @on(OpenFailed)
    def _open_failed(self, message: OpenFailed) -> None:
        if message.busy:
            self._busy(message.reason)
        else:
            self._failed(message.reason)

    @on(Opened)
    def _opened(self) -> None:
        self.state = "connected"
        self._show_title()
        view = self.query_one(SerialView)  # the far end learns the size it opened at
        self.link.resize(max(view.size.width, 1), max(view.size.height, 1))

    def _failed(self, message: str) -> None:
        """Said in place, where the console would be, and in a notification."""
        self._console_over(f"could not open: {message}", "error")

    def _busy(self, message: str) -> None:
        if self.link.mode is ConsoleMode.READ_ONLY:  # a viewer never ends another's
            self._failed(message)
            return

        def answered(take_over: bool | None) -> None:
            if take_over:
                self._open(force=True)
            else:
                self.dismiss(None)

        self.app.push_screen(ConfirmScreen(
            f"Serial console: {self.guest_title}", message,
            "The other session is disconnected from the console.", "Take over"), answered)

    @on(Output)
    def _output(self) -> None:
        self.query_one(SerialView).refresh()

    @on(Ended)
    def _ended(self, message: Ended) -> None:
        if message.reason != "detached":
            self._console_over(f"closed: {message.reason}", "warning")

    def _console_over(self, why: str, severity: SeverityLevel) -> None:
        """The console is over: the last screen stays, under why; Esc, Enter, q or the
        detach key leave."""
        view = self.query_one(SerialView)
        view.ended = True
        view.refresh()
        self.state = f"{visible(why, 200)} (Esc leaves)"
        self._show_title()
        self.app.notify(why, title=f"Serial console: {self.guest_title}", severity=severity,
                        timeout=10)

    def action_detach(self) -> None:
        self.link.detach()
        self.dismiss(None)

    def on_unmount(self) -> None:
        self.link.detach()  # the app closing, or a served session dropped


def open_serial_console(app: ConsoleBase, sel: Selection, title: str) -> None:
    """`C` on a running guest: its console, typed into by an operator or an admin; a
    viewer watches it read-only or is refused (audited), as the config's
    `serial_console_viewers` says. A read-only console (`--read-only`) only watches."""
    guest = sel.guest
    operations = app.operations
    if app.actor.role.may_operate() and not operations.read_only:
        mode = ConsoleMode.INTERACTIVE
    elif app.actor.role.may_operate() or app.config.serial_console_viewers == "read-only":
        mode = ConsoleMode.READ_ONLY
    else:
        app.runner.refuse(OpRequest(sel.cluster, guest.id, AUDITED_AS, title),
                          VIEWER_REFUSAL, "error")
        return
    loop = app.loops.get(sel.cluster)
    if loop is None:
        return

    def audit(cluster: str, target: str, operation: str, result: str,
              parameters: dict[str, object]) -> None:
        operations.record(OpRequest(cluster, target, operation, title, parameters), result)

    app.push_screen(SerialConsoleScreen(loop.backend, sel.cluster, guest.id,
                                        guest_title(guest), mode, audit))
