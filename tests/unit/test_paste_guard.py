"""A paste with ESC in it reaches the console as one paste, in order, never as keys
(the tester's finding: an OSC in a paste came out as keys ahead of the paste)."""

from __future__ import annotations

from textual import events
from textual._xterm_parser import XTermParser

from vmconsole.ui.paste_guard import PasteGuard, PasteGuardParser

START, END = "\x1b[200~", "\x1b[201~"
OSC52 = "\x1b]52;c;aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ=\x07"  # write the clipboard
INPUT = f"x{START}ab{OSC52}cd\x1bx{END}\x1b[Ay"  # a key, the paste, up, a key


def what(messages) -> list[tuple[str, str]]:
    return [(type(m).__name__, m.text if isinstance(m, events.Paste) else m.key)
            for m in messages]


def test_textual_s_own_parser_turns_the_paste_into_keys():
    """Why the guard exists: this fails the day Textual reads pastes whole."""
    got = what(XTermParser().feed(INPUT))
    assert ("Paste", f"ab{OSC52}cd\x1bx") not in got
    assert got.index(("Key", "right_square_bracket")) < next(
        i for i, (kind, _) in enumerate(got) if kind == "Paste")


def test_the_paste_arrives_whole_in_order_without_its_escs():
    assert what(PasteGuardParser().feed(INPUT)) == [
        ("Key", "x"), ("Paste", f"ab{OSC52[1:]}cdx"), ("Key", "up"), ("Key", "y")]


def test_the_input_may_be_cut_anywhere():
    whole = PasteGuard().feed(INPUT)
    for cut in range(len(INPUT) + 1):
        for second in range(cut, len(INPUT) + 1):
            guard = PasteGuard()
            parts = (INPUT[:cut], INPUT[cut:second], INPUT[second:])
            assert "".join(guard.feed(p) for p in parts) == whole, (cut, second)


def test_escape_outside_a_paste_passes_at_once():
    guard = PasteGuard()
    assert guard.feed("\x1b") == "\x1b"  # the Escape key: not held for the next read
    assert guard.feed("[A") == "[A"
