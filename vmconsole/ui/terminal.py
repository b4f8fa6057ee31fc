"""A terminal emulator for a guest's serial console: pyte turns the guest's bytes into a
grid of cells, and the grid is drawn as rich `Text`, so nothing the guest writes ever
reaches the user's terminal as a control: an escape sequence moves pyte's cursor or
colours its cells, never the console's screen.

Also the other way: the keys Textual reports, as the bytes a VT100/xterm sends for them.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import pyte
from rich.color import Color, ColorParseError
from rich.style import Style
from rich.text import Text

#: pyte's colour names (SGR 30-37, 90-97) in rich's; "brown" is SGR 33, shown as yellow.
_COLOURS = {"brown": "yellow", "default": None}
_CURSOR = Style(reverse=True)
_HIDDEN = "\ufffd"  # a cell holding only characters a terminal would not draw


@lru_cache(maxsize=512)
def _colour(name: str) -> Color | None:
    """A pyte colour: a name ("red", "brightbrown"), "default", or six hex digits (the
    256-colour and true-colour SGRs)."""
    if name in _COLOURS:
        mapped = _COLOURS[name]
        return None if mapped is None else Color.parse(mapped)
    if name.startswith("bright"):
        base = _COLOURS.get(name[6:], name[6:])
        return Color.parse(f"bright_{base}") if base else None
    try:
        return Color.parse(f"#{name}" if len(name) == 6 else name)
    except ColorParseError:
        return None  # a colour pyte knows and rich does not: the default, not a failure


@lru_cache(maxsize=1024)
def _style(fg: str, bg: str, bold: bool, italics: bool, underscore: bool,
           strikethrough: bool, reverse: bool, blink: bool) -> Style:
    return Style(color=_colour(fg), bgcolor=_colour(bg), bold=bold or None,
                 italic=italics or None, underline=underscore or None,
                 strike=strikethrough or None, reverse=reverse or None, blink=blink or None)


def _cell_text(data: str) -> str:
    """A cell's characters, each one a terminal draws (pyte drops controls and format
    characters already; this holds whatever pyte lets through)."""
    if data.isprintable():
        return data
    kept = "".join(c for c in data if c.isprintable())
    return kept or _HIDDEN


class _Screen(pyte.Screen):
    """pyte's screen, but a character it would not draw (a bidi override, a zero-width
    space, an unassigned code point) shows as U+FFFD where it came. pyte's own `draw`
    stops at the first such character and drops the rest of the run, which would let
    a guest hide text after it."""

    def draw(self, data: str) -> None:
        if not data.isprintable():
            data = "".join(c if c.isprintable() else _HIDDEN for c in data)
        super().draw(data)


class TerminalBuffer:
    """The screen a guest's console draws on: fed on a backend thread, drawn on the
    UI's. Sizes are in cells."""

    def __init__(self, columns: int = 80, rows: int = 24) -> None:
        self._lock = threading.Lock()
        self._screen = _Screen(columns, rows)
        self._stream = pyte.ByteStream(self._screen)

    @property
    def size(self) -> tuple[int, int]:
        """(columns, rows)."""
        with self._lock:
            return self._screen.columns, self._screen.lines

    def feed(self, data: bytes) -> None:
        """The guest's output, as it came: UTF-8 (invalid bytes become U+FFFD),
        controls and escape sequences interpreted by pyte."""
        with self._lock:
            self._stream.feed(data)

    def resize(self, columns: int, rows: int) -> None:
        with self._lock:
            if (columns, rows) != (self._screen.columns, self._screen.lines):
                self._screen.resize(rows, columns)

    def lines(self, cursor: bool = True) -> list[Text]:
        """Each row as styled `Text` of exactly the screen's width; the cursor's cell
        drawn reversed when `cursor` and pyte has it shown (DECTCEM)."""
        with self._lock:
            screen = self._screen
            at = (screen.cursor.x, screen.cursor.y) if cursor and not screen.cursor.hidden \
                else None
            out = []
            for y in range(screen.lines):
                row = screen.buffer[y]
                text = Text(no_wrap=True, end="")
                for x in range(screen.columns):
                    char = row[x]
                    if char.data == "":  # the right half of a wide character
                        continue
                    style = _style(char.fg, char.bg, char.bold, char.italics,
                                   char.underscore, char.strikethrough, char.reverse,
                                   char.blink)
                    if at == (x, y):
                        style = style + _CURSOR
                    text.append(_cell_text(char.data), style)
                text.truncate(screen.columns, pad=True)
                out.append(text)
            return out

    def display(self) -> list[str]:
        """The rows as plain text (what a user reads), for tests and logs."""
        with self._lock:
            return list(self._screen.display)


# Keys without a character of their own, as xterm sends them (normal cursor mode).
_KEYS = {
    "up": b"\x1b[A", "down": b"\x1b[B", "right": b"\x1b[C", "left": b"\x1b[D",
    "home": b"\x1b[H", "end": b"\x1b[F", "insert": b"\x1b[2~", "delete": b"\x1b[3~",
    "pageup": b"\x1b[5~", "pagedown": b"\x1b[6~", "shift+tab": b"\x1b[Z",
    "f1": b"\x1bOP", "f2": b"\x1bOQ", "f3": b"\x1bOR", "f4": b"\x1bOS",
    "f5": b"\x1b[15~", "f6": b"\x1b[17~", "f7": b"\x1b[18~", "f8": b"\x1b[19~",
    "f9": b"\x1b[20~", "f10": b"\x1b[21~", "f11": b"\x1b[23~", "f12": b"\x1b[24~",
    "enter": b"\r", "tab": b"\t", "escape": b"\x1b", "backspace": b"\x7f",
}

_CTRL_NAMED = {"ctrl+@": b"\x00", "ctrl+right_square_bracket": b"\x1d",
               "ctrl+backslash": b"\x1c", "ctrl+circumflex_accent": b"\x1e",
               "ctrl+underscore": b"\x1f"}


def key_bytes(key: str, character: str | None) -> bytes | None:
    """What a terminal sends for a Textual key (`Key.key`, `Key.character`): the
    character itself (Ctrl+C arrives as "\\x03"), an xterm sequence for the keys that
    have none, ESC before an Alt+key. None for a key a terminal cannot send."""
    if key in _KEYS:
        return _KEYS[key]
    if key.startswith("alt+"):
        rest = key_bytes(key[4:], character)
        return None if rest is None else b"\x1b" + rest
    if character:
        return character.encode("utf-8", "replace")
    # A key named without its character (a test's Pilot, some terminals): Ctrl+letter
    # is the letter's code & 0x1f, as a terminal sends it.
    if key.startswith("ctrl+") and len(name := key[5:]) == 1 and name.isalpha():
        return bytes([ord(name.lower()) & 0x1F])
    return _CTRL_NAMED.get(key)
