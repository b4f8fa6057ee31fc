"""Esc and a key in one burst: a terminal's parser reads ESC followed at once by a
character as Alt+that key (`tmux send-keys Escape j`, a fast typist over SSH, a paste).
The console binds no Alt+key, so such a key did nothing on the main screen and typed
its character into a text box that the Esc was to leave. It is the Esc, then the key."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.screen import Screen


def escape_then(event: events.Key, screen: Screen[Any]) -> tuple[events.Key, events.Key] | None:
    """(Esc, the key) for an Alt+key that types a printable character ("alt+j": Esc,
    then "j") and that no binding active on `screen` answers to (a `[keys]` table may
    bind one); None for any other key."""
    char = event.character
    if not event.key.startswith("alt+") or char is None or len(char) != 1 or (
            not char.isprintable()) or event.key in screen.active_bindings:
        return None
    return events.Key("escape", "\x1b"), events.Key(event.key.removeprefix("alt+"), char)
