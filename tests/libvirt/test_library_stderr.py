"""What a library writes to stderr never reaches the console's screen (ui/stderr_guard.py).

libvirt's test driver reads a `test:///PATH` host's XML with libxml2, which reports a
file it cannot load on stderr, naming it as the URI gives it: escapes and all, at every
reconnection. The console runs as a user runs it, on a pseudo-terminal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.pty_console import run_in_terminal

# the console it starts reads its hosts with libvirt-python
pytest.importorskip("libvirt", reason="libvirt-python is not installed")

#: OSC 0 (set the window title), then clear the screen and turn the text red.
HOSTILE = "\x1b]0;PWNED\x07\x1b[2J\x1b[31mRED"
URI_PATH = "/nonexistent/%1B%5D0;PWNED%07%1B%5B2J%1B%5B31mRED.xml"


def test_a_hosts_library_warning_goes_to_the_log_made_visible_not_to_the_screen(tmp_path):
    env = dict(os.environ)
    config = tmp_path / "config.toml"
    config.write_text('default_profile = "x"\n[[profiles.x.clusters]]\nkind = "libvirt"\n'
                      f'name = "kvm"\nuris = ["test:///default", "test://{URI_PATH}"]\n'
                      "timeout = 2\n")
    log = Path(env["XDG_STATE_HOME"]) / "vmconsole" / "console.log"

    def warned_twice(rows: list[str]) -> bool:
        # the good host drawn, and the bad one read (and warned of) twice
        return ("test vm" in "\n".join(rows) and log.exists()
                and log.read_text().count("I/O warning") >= 2)

    shown, written, code = run_in_terminal(env, warned_twice, "--config", str(config))
    assert warned_twice(shown)
    assert code == 0
    assert "I/O warning" not in written and HOSTILE not in written
    assert "\x1b]0;" not in written  # nothing retitled the terminal
    lines = [line for line in log.read_text().splitlines() if "I/O warning" in line]
    assert lines[0].split(" ", 3)[2:] == [
        "WARNING", 'stderr: I/O warning : failed to load external entity '
        '"/nonexistent/\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31mRED.xml"']
