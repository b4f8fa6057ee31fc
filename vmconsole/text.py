"""Untrusted text made fit for a terminal: every string from a backend, a config file, an
SSH client or a user passes through `visible()` before it reaches a screen or a stream.

A guest name is data. Rich and Textual read "[" as markup, and a terminal obeys what it
is sent: ESC starts a CSI/OSC sequence (clear the screen, set the window title, write the
clipboard with OSC 52), C1 controls do the same in one byte, and the Unicode format
characters (bidi overrides, zero-width joiners) reorder or hide what is shown. Markup is
kept out by never parsing these strings (rich `Text`, Textual `Content`, `markup=False`);
this module keeps out the rest by making every such character visible as an escape.
"""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

ELLIPSIS = "…"

#: The longest name shown whole; longer ones are cut with an ellipsis. Names on every
#: backend are far shorter in practice (Proxmox caps guest names at 128 characters,
#: vSphere at 80), so this only ever trims hostile or broken data.
NAME_LIMIT = 128


#: Printable by Python's rule, yet drawn as nothing: the Default_Ignorable_Code_Point
#: characters that are letters or combining marks, not format characters (Unicode's
#: DerivedCoreProperties.txt: the Hangul fillers, the combining grapheme joiner, the
#: Khmer inherent vowels, the Mongolian and generic variation selectors), and the blank
#: braille cell. "web1" followed by one of them looks like "web1" on every terminal.
_BLANK_GLYPHS = frozenset(
    [0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x2800,
     0x3164, 0xFFA0, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])


def _shows(char: str) -> bool:
    return char.isprintable() and ord(char) not in _BLANK_GLYPHS


def _escape(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: object, limit: int | None = NAME_LIMIT) -> str:
    """`text` as a string whose every character shows as itself on a terminal.

    Each character that `str.isprintable()` rejects becomes a Python-style escape. Those
    are the Unicode general categories a terminal obeys or hides rather than shows as a
    glyph (Unicode Standard Annex #44): controls (Cc: C0, DEL, C1), format characters
    (Cf: bidi overrides and isolates, zero-width space and joiners, BOM), surrogates,
    private use, unassigned, line and paragraph separators, and every space but U+0020,
    which would pass for it; and the few printable characters drawn as nothing
    (`_BLANK_GLYPHS`: U+3164 HANGUL FILLER, variation selectors). ESC is shown as
    ``\\x1b``, RIGHT-TO-LEFT OVERRIDE as ``\\u202e``, a newline as ``\\n``.
    The result is cut to `limit` characters (None: no limit), the last being an ellipsis.
    Markup is not escaped: show the result through rich `Text` or Textual `Content`,
    never through a markup parser. Non-string values are formatted with `str()` first.
    """
    raw = text if isinstance(text, str) else str(text)
    # The common case, a plain ASCII name, is returned as it is without a copy.
    shown = raw if raw.isascii() and raw.isprintable() else "".join(
        c if _shows(c) else _escape(c) for c in raw)
    if limit is not None and len(shown) > limit:
        return shown[: max(limit - 1, 0)] + ELLIPSIS
    return shown


def visible_lines(text: object, limit: int | None = None) -> str:
    """Like `visible()`, but a multi-line text (a task log, an error from a backend) keeps
    its line breaks; every other hidden character, a carriage return included, is
    escaped. `limit` applies to each line."""
    raw = text if isinstance(text, str) else str(text)
    return "\n".join(visible(line, limit) for line in raw.split("\n"))
