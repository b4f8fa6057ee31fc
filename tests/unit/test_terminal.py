"""The serial console's terminal: what a guest writes becomes cells drawn as rich Text,
never a control for the user's terminal; and keys become what a terminal sends."""

from __future__ import annotations

import io

from rich.console import Console

from vmconsole.ui.terminal import TerminalBuffer, key_bytes

HOSTILE = (b"\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07"  # window title, clipboard write
           b"\x1b[2J\x1b[H"                          # clear, home: pyte's, not ours
           b"A\xe2\x80\xaeB\xe2\x80\x8bC\xc2\x85D\xff E"  # bidi, zero-width, NEL, bad UTF-8
           b"\r\n\x1b[31mred\x1b[0m \x1b[38;5;196mx\x1b[48;2;1;2;3my\x1b[0m")


def test_hostile_output_is_drawn_as_characters_never_sent_as_controls():
    buffer = TerminalBuffer(40, 3)
    buffer.feed(HOSTILE)
    rows = buffer.display()
    # A character the terminal would hide or obey shows as U+FFFD where it came, and
    # nothing after it is lost.
    assert rows[0].rstrip() == "A\ufffdB\ufffdC\ufffdD\ufffd E"
    assert rows[1].startswith("red xy")
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor",
                      width=40)
    for line in buffer.lines():
        console.print(line)
    written = console.file.getvalue()  # type: ignore[attr-defined]
    # What reaches the user's terminal: rich's own SGR colours, nothing else.
    for forbidden in ("\x1b]", "\x07", "\x1b[2J", "\x1b[H", "\u202e", "\u200b", "\x85"):
        assert forbidden not in written
    assert "pwned" not in written and "ZXZpbA" not in written


def test_colours_and_attributes_come_through_as_styles():
    buffer = TerminalBuffer(20, 1)
    buffer.feed(b"\x1b[1;31mA\x1b[0;33;44mB\x1b[0;92mC\x1b[0;38;5;196mD\x1b[4mE")
    (line,) = buffer.lines(cursor=False)
    styles = {line.plain[span.start:span.end]: span.style for span in line.spans}
    assert styles["A"].bold and styles["A"].color.name == "red"
    assert styles["B"].color.name == "yellow" and styles["B"].bgcolor.name == "blue"
    assert styles["C"].color.name == "bright_green"
    assert styles["D"].color.triplet.hex == "#ff0000"
    assert styles["E"].underline


def test_every_row_has_the_screen_width_and_wide_characters_keep_the_grid():
    buffer = TerminalBuffer(10, 2)
    buffer.feed("中文ab".encode())
    lines = buffer.lines()
    assert [line.cell_len for line in lines] == [10, 10]
    assert lines[0].plain.startswith("中文ab")
    buffer.resize(30, 5)
    assert [line.cell_len for line in buffer.lines()] == [30] * 5


def test_keys_are_sent_as_a_terminal_sends_them():
    assert key_bytes("a", "a") == b"a"
    assert key_bytes("ctrl+c", "\x03") == b"\x03"
    assert key_bytes("ctrl+c", None) == b"\x03"
    assert key_bytes("enter", "\r") == b"\r"
    assert key_bytes("up", None) == b"\x1b[A"
    assert key_bytes("f5", None) == b"\x1b[15~"
    assert key_bytes("alt+x", None) is None
    assert key_bytes("alt+up", None) == b"\x1b\x1b[A"
    assert key_bytes("é", "é") == "é".encode()
    assert key_bytes("ctrl+shift+f13", None) is None
