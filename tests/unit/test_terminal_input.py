"""A byte that is not UTF-8 in what the terminal sends is data, never the console's end
(the tester's finding: `tmux send-keys -H ff`, or `é` from a Latin-1 terminal, ended the
local console with a UnicodeDecodeError in Textual's input thread, exit status 0)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.pty_console import ROOT, run_in_terminal
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


# Loaded by Python at start (`sitecustomize`, on PYTHONPATH): the parser of what the
# terminal sends raises at the byte 0x1d (Ctrl+]), in Textual's input thread.
CRASHING_INPUT = '''
from vmconsole.ui.paste_guard import PasteGuardParser

feed = PasteGuardParser.feed


def crashing_feed(self, data):
    if "\\x1d" in data:
        raise RuntimeError("the parser broke on purpose")
    return feed(self, data)


PasteGuardParser.feed = crashing_feed
'''


def crash(tmp_path: Path, patch: str, key: bytes) -> tuple[Path, str, str]:
    """Run the console with `patch` loaded first (a sitecustomize), press `key` once the
    demo shows, and expect it to end with status 1: (its state folder, its console.log,
    all it wrote on the terminal)."""
    (tmp_path / "sitecustomize.py").write_text(patch)
    state = tmp_path / "state"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]),
               XDG_STATE_HOME=str(state))
    _, written, code = run_in_terminal(
        env, lambda rows: "pve1" in "\n".join(rows), typed=[(key, lambda rows: False)],
        timeout=15)
    assert code == 1
    return state, (state / "vmconsole" / "console.log").read_text(), written


def test_a_crash_of_the_input_thread_ends_the_console_with_status_1_and_its_traceback_logged(
        tmp_path):
    """Textual's handler of its input thread's crash ends the app without an exit
    status: the console ended with 0, and the traceback was nowhere but on a terminal
    being restored. It ends with 1, one line on stderr, the traceback in console.log."""
    state, log, written = crash(tmp_path, CRASHING_INPUT, b"\x1d")
    assert "RuntimeError: the parser broke on purpose" in log
    after = re.sub(r"\x1b\[[0-9;?<>=]*[A-Za-z]", "", written.rsplit("\x1b[?1049l", 1)[-1])
    assert after.strip() == ("vmconsole exited with 1; its log: "
                             f"{state / 'vmconsole' / 'console.log'}"), after
    assert "Traceback" not in written


CRASHING_ACTION = """
from vmconsole.ui.app import VMConsoleApp

def crashing(self):
    raise OverflowError("the task log broke on purpose")

VMConsoleApp.action_toggle_tasks = crashing
"""


def test_an_error_nothing_handled_ends_the_console_with_its_traceback_in_the_log(tmp_path):
    """A tester's finding: an OverflowError in a key's handler ended the console with
    "vmconsole exited with 1; its log: console.log", and console.log held nothing."""
    _, log, _ = crash(tmp_path, CRASHING_ACTION, b"t")
    assert "ERROR vmconsole.ui.base_app: the console ended on an error" in log
    assert "OverflowError: the task log broke on purpose" in log
