"""Untrusted text reaches a terminal as visible characters only."""

import pytest

from vmconsole.text import ELLIPSIS, visible, visible_lines


@pytest.mark.parametrize(("raw", "shown"), [
    ("web1", "web1"),
    ("api [env=prod:eu]", "api [env=prod:eu]"),  # markup is left to Text/Content
    ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),  # OSC window title
    ("\x1b]52;c;aGk=\x07", "\\x1b]52;c;aGk=\\x07"),  # OSC 52 clipboard write
    ("\x1b[2Jgone", "\\x1b[2Jgone"),
    ("\x9b31mred", "\\x9b31mred"),  # C1 CSI in one character
    ("abc\u202edef", "abc\\u202edef"),  # right-to-left override
    ("web\u200b1", "web\\u200b1"),  # zero-width space
    ("a\u2066b\u2069", "a\\u2066b\\u2069"),  # bidi isolates
    ("two\nlines", "two\\nlines"),
    ("back\\slash", "back\\slash"),
    ("日本語 ü", "日本語 ü"),
    ("web1\u3164", "web1\\u3164"),  # Hangul filler: a letter drawn as a blank
    ("web\u034f1", "web\\u034f1"),  # combining grapheme joiner
    ("\u2800", "\\u2800"),  # blank braille cell
    ("web1\U000e0100", "web1\\U000e0100"),  # variation selector 17
])
def test_hidden_characters_are_escaped(raw: str, shown: str) -> None:
    assert visible(raw) == shown
    assert visible(raw).isprintable()


def test_a_long_name_is_cut_with_an_ellipsis() -> None:
    shown = visible("x" * 5000, limit=40)
    assert len(shown) == 40
    assert shown.endswith(ELLIPSIS)
    assert visible("x" * 5000, limit=None) == "x" * 5000


def test_multi_line_text_keeps_its_lines_only() -> None:
    assert visible_lines("ok\n\x1b[2Jcleared\rover") == "ok\n\\x1b[2Jcleared\\rover"
