"""The teaching panel: the simulator's clock and speed, the quorum, and every cluster
event narrated as it happens ("pve3 lost: waiting for the 60 s fence delay ...")."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import ScrollableContainer, Vertical
from textual.widgets import Static

from vmconsole.backends.abilities import ClusterEvent
from vmconsole.backends.event_kinds import EventKind, Tone
from vmconsole.model import Inventory
from vmconsole.text import visible_lines
from vmconsole.ui.key_hints import hint_line
from vmconsole.ui.styles import LabelStyles

if TYPE_CHECKING:
    from vmconsole.ui.widgets.timeline_log import TimelineLog

# The longest narration line shown: an event quoting a hostile 5,000-character name
# would otherwise fill the panel (the name is cut with an ellipsis).
LINE_LIMIT = 400


# The status line's key hints: (binding id, what it does), keys read from the keymap.
TEACHING_KEYS = (("teach.pause", "pause"), ("teach.slower teach.faster", "speed"),
                 ("teach.faults", "faults"))


def event_style(kind: EventKind, styles: LabelStyles) -> Style:
    """A fault in the theme's bad colour, a recovery in its good one (`EventKind.tone`)."""
    return {Tone.FAULT: styles.bad, Tone.RECOVERY: styles.ok}.get(kind.tone, styles.accent)


def scale_text(scale: float) -> str:
    return "paused" if scale == 0 else f"time x{scale:g}"


class TeachingPanel(Vertical):
    """Add events with `add_events`; the status line with `show_status`."""

    # As tall as what it has to say, up to 8 rows (5 on a short screen: app.tcss):
    # an empty timeline must not take rows from the tree. Before its first line the
    # timeline is not made (`_timeline`): an empty row in its place (#teach-empty) looks
    # as the empty log did.
    DEFAULT_CSS = """
    TeachingPanel { height: auto; max-height: 8; border-top: solid $panel-lighten-2; }
    TeachingPanel #teach-empty { height: 1; background: $surface; padding: 0 1;
                                 &:focus { background-tint: $foreground 5%; } }
    TeachingPanel #teach-status { height: 1; background: $panel; padding: 0 1; }
    TeachingPanel RichLog { height: auto; min-height: 1; max-height: 6; padding: 0 1;
                            overflow-x: hidden; }
    """

    _status = ""
    _keys = ""
    _log: TimelineLog | None = None

    def compose(self) -> ComposeResult:
        # Kept, not queried on every poll (a query matches CSS against every widget).
        self._status_line = Static(id="teach-status")
        self._status_line.auto_links = False  # data, never links: no pass for them
        yield self._status_line
        # What an empty RichLog draws: one row of its background and scrollbar; Tab
        # visits it as it did the empty log.
        empty = ScrollableContainer(id="teach-empty")
        empty.styles.overflow_y = "scroll"
        yield empty

    def _timeline(self) -> TimelineLog:
        """The event log (#teach-log), made with its first line: Textual's RichLog
        imports rich.pretty and with it attrs, a twentieth of the console's start, for
        a log that is empty on the first screen."""
        if self._log is None:
            from vmconsole.ui.widgets.timeline_log import TimelineLog

            self._log = TimelineLog(max_lines=500, wrap=True, markup=False, id="teach-log")
            empty = self.query_one("#teach-empty")
            self.mount(self._log)  # lines written before it is laid out wait in it
            if empty.has_focus:
                self._log.focus()
            empty.remove()
        return self._log

    def show_status(self, now: float, scale: float, inventory: Inventory | None,
                    changes: bool = True) -> None:
        """The clock (`now`, epoch seconds), its speed and the quorum; the keys that
        change them only for a console that may (`changes`: an admin's, not read-only)."""
        parts = [time.strftime("%H:%M:%S", time.localtime(now)), scale_text(scale)]
        if inventory is not None and inventory.quorum is not None:
            q = inventory.quorum
            parts.append(f"{'quorate' if q.quorate else 'NO QUORUM'} {q.votes}/{q.expected} votes")
        if changes:
            if not self._keys:  # once: the keymap is set before the first poll arrives
                self._keys = hint_line(self.screen, TEACHING_KEYS)
            parts.append(self._keys)
        text = " · ".join(parts)
        if text != self._status:
            self._status = text
            # One line of fixed height: no need to lay the whole screen out again.
            self._status_line.update(Text(text), layout=False)

    def add_events(self, events: tuple[ClusterEvent, ...] | list[ClusterEvent]) -> None:
        if not events:
            return
        log = self._timeline()
        styles = LabelStyles.from_variables(self.app.theme_variables)
        for event in events:
            line = Text(time.strftime("%H:%M:%S ", time.localtime(event.time)),
                        style=styles.muted)
            line.append(visible_lines(event.message, LINE_LIMIT),
                        style=event_style(event.kind, styles))
            log.write(line)

    def add_lines(self, lines: list[str]) -> None:
        """Plain narration (a scenario's summary) into the timeline."""
        log = self._timeline()
        for line in lines:
            log.write(Text(visible_lines(line, LINE_LIMIT), style="bold"))
