"""A byte that is not UTF-8 in what the terminal sends is data, never the console's end
(the tester's finding: `tmux send-keys -H ff`, or `é` from a Latin-1 terminal, ended the
local console with a UnicodeDecodeError in Textual's input thread, exit status 0)."""

from __future__ import annotations

import os

from tests.pty_console import run_in_terminal
from vmconsole.ui.terminal_input import lenient_decoder

START, END = b"\x1b[200~", b"\x1b[201~"  # a bracketed paste's markers


def test_a_byte_that_is_not_utf8_is_a_replacement_character_and_the_console_runs():
    # A lone 0xff; a Latin-1 `é` (0xe9, which begins a three-byte character in UTF-8)
    # then `/`, which opens the tree's filter; and a paste with a raw 0x85 in it, the
    # 0x85 not a character of its own but a stray continuation byte.
    typed = b"\xff\xe9/" + START + b"web\x851" + END
    shown, written, code = run_in_terminal(
        dict(os.environ), lambda rows: "pve1" in "\n".join(rows),
        typed=[(typed, lambda rows: "web\ufffd1" in "\n".join(rows))], leave=b"\x1bq")
    assert "web\ufffd1" in "\n".join(shown)  # the paste, in the filter box
    assert "Traceback" not in written
    assert code == 0


def test_the_decoder_keeps_a_character_cut_between_two_reads():
    decode = lenient_decoder("utf-8")().decode
    assert decode(b"a\xc3") + decode(b"\xa9\xff") == "a\u00e9\ufffd"
