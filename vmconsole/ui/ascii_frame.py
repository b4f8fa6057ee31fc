"""Textual's frame in ASCII: its borders, scroll bars and thin block lines drawn with
`- = | + #` and blanks, and the separators `·` `—` and the ellipsis as `-` `-` `.`, for
ASCII mode (TERM=linux, a non-UTF-8 locale, --ascii).

Textual draws its frame with box drawing (borders: `─│╭┓`) and block elements (scroll
bars' thumbs, the `tall` border of an input, the footer's `▏`), and has no setting that
draws them otherwise. A line filter (Textual's hook on every rendered line of every
widget, as its NO_COLOR mode is) replaces each such character with one ASCII character
of the same width, so nothing moves. The marks that carry a meaning (a guest's state, a
key, an arrow between two values) are written in ASCII where they are made
(`ui.symbols`): one cell could not say them."""

from __future__ import annotations

import unicodedata

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

# Unicode's blocks of box drawing and of block elements.
BOX_DRAWING = range(0x2500, 0x2580)
BLOCK_ELEMENTS = range(0x2580, 0x25A0)
_ACROSS = {"HORIZONTAL", "LEFT", "RIGHT"}
_ALONG = {"VERTICAL", "UP", "DOWN"}
_DIAGONALS = {"\u2571": "/", "\u2572": "\\", "\u2573": "X"}  # the diagonals
# Shades and the full block fill a cell: `#`, as the ping chart's outages in ASCII.
_FILLED = "█░▒▓"


def _box_character(character: str) -> str:
    """A line across is `-` (`─`), `=` when heavy or double (`━`: the edge of the pane
    with the focus, told from the others without colour); one along (`│`, `╻`) is `|`;
    any corner, join or crossing `+` (as Textual's own `ascii` border draws them)."""
    if character in _DIAGONALS:
        return _DIAGONALS[character]
    words = set(unicodedata.name(character).split())
    if words & _ACROSS and words & _ALONG:
        return "+"
    if words & _ACROSS:
        return "=" if words & {"HEAVY", "DOUBLE"} else "-"
    return "|"


def _block_character(character: str) -> str:
    """A part of a cell's block (a scroll bar thumb's end, an input's `▔` or `▊`) is a
    blank: the colours around it still draw the shape."""
    return "#" if character in _FILLED else " "


# The separators and the ellipsis of the console's own lines and of Textual's words
# ("12:00:00 · quorate", "vmconsole — alice", "connecting…", "Search for commands…"),
# one cell each. A name cut to fit ends in `...` where it is cut (`Symbols.cut`).
PUNCTUATION = {"·": "-", "—": "-", "…": "."}
# A no-break space (keeping a ping chart's legend entry whole when it wraps, which is
# done by then) is a space.
SPACES = {"\u00a0": " "}
# A closed and an open Select's arrow: `v`, `^`.
SELECT_ARROWS = {"▼": "v", "▲": "^"}

FRAME = str.maketrans(
    {chr(c): _box_character(chr(c)) for c in BOX_DRAWING}
    | {chr(c): _block_character(chr(c)) for c in BLOCK_ELEMENTS}
    | PUNCTUATION | SPACES | SELECT_ARROWS)


class AsciiFrame(LineFilter):
    """Textual's frame characters replaced with ASCII ones of the same width (`FRAME`).
    A backend's name holding such a character is shown with it replaced too: the
    terminal of ASCII mode is taken not to draw it."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [segment if segment.text.isascii()
                else Segment(segment.text.translate(FRAME), segment.style, segment.control)
                for segment in segments]
