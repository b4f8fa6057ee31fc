"""A tester's finding: a cluster named `[bold red]X\\x1b]0;pwn\\x07\\u202e...` whose poll
fails wrote its name raw into console.log ("poll of [bold red]X^[]0;pwn^G... failed")
and the OSError's path after it: `tail -f console.log` obeyed the escapes. Every log
line is made visible where it is formatted, for the console's log and serve's stderr."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.monitor.test_poller import ScriptedBackend, inv
from vmconsole.backends.base import Unreachable
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.launch import log_to_file

HOSTILE = "[bold red]X\x1b]0;pwn\x07\u202eevil\nFORGED line"
SHOWN = "[bold red]X\\x1b]0;pwn\\x07\\u202eevil\\nFORGED line"


class FailingBackend:
    """A backend whose every poll fails with an OSError naming a hostile file."""

    capabilities = None

    def __init__(self, name: str) -> None:
        self.name = name

    def inventory(self) -> None:
        raise FileNotFoundError(2, "No such file or directory", f"/srv/{self.name}.xml")

    def close(self) -> None:
        pass


def test_the_console_log_shows_a_hostile_cluster_name_and_path_as_escapes(
        tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    handler = log_to_file(log)
    assert handler is not None
    loop = PollLoop(Poller(FailingBackend(HOSTILE), interval=60.0))  # type: ignore[arg-type]
    try:
        loop.start()
        deadline = time.monotonic() + 30.0
        while "FileNotFoundError" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "no poll failure logged"
            time.sleep(0.05)
    finally:
        loop.stop(timeout=5.0)
        logging.getLogger("vmconsole").removeHandler(handler)
        handler.close()
    written = log.read_text()
    assert "\x1b" not in written and "\x07" not in written and "\u202e" not in written
    lines = written.splitlines()
    assert lines[0].endswith(f"ERROR vmconsole.monitor.poller: poll of {SHOWN} failed")
    assert not any(line.startswith("FORGED") for line in lines)
    # The traceback keeps its lines, for a bug report; the path in it is made visible.
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == ("FileNotFoundError: [Errno 2] No such file or directory: "
                         f"'/srv/{SHOWN}.xml'")


def test_serves_log_lines_show_a_hostile_cluster_name_on_one_line() -> None:
    """As `vmconsole serve` logs (its stderr a pipe made visible line by line): a
    newline in the name no longer starts a line of its own."""
    script = textwrap.dedent("""
        import time
        from tests.monitor.test_log_lines import FailingBackend, HOSTILE
        from vmconsole.log_format import log_to_stderr
        from vmconsole.monitor.poller import Poller, PollLoop
        from vmconsole.stderr_pipe import stderr_through

        log_to_stderr()
        loop = PollLoop(Poller(FailingBackend(HOSTILE), interval=60.0))
        with stderr_through():
            loop.start()
            while loop.latest is None:
                time.sleep(0.05)
            loop.stop()
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].endswith(f" poll of {SHOWN} failed"), lines
    assert not any(line.split(" ", 1)[1].startswith("FORGED") for line in lines), lines
    assert lines[-1].endswith("No such file or directory: "
                              f"'/srv/{SHOWN}.xml'"), lines


def test_a_failure_streak_is_one_line_of_the_console_log_and_its_end_another(
        tmp_path: Path) -> None:
    """An admin reading console.log after a night of an unreachable host: one line where
    the polls began to fail, in the backend's words, and one where they work again,
    not a line per poll."""
    log = tmp_path / "console.log"
    handler = log_to_file(log)
    assert handler is not None
    down = Unreachable("pve1: connection refused")
    backend = ScriptedBackend([inv(1), down, down, down, inv(5), Unreachable("timed out"),
                               inv(7)])
    poller = Poller(backend, interval=2.0)  # type: ignore[arg-type]
    try:
        for _ in range(7):
            poller.poll()
    finally:
        logging.getLogger("vmconsole").removeHandler(handler)
        handler.close()
    lines = [line.split(" vmconsole.monitor.poller: ", 1)[1]
             for line in log.read_text().splitlines()]
    assert lines == ["poll of c1 failed: pve1: connection refused",
                     "poll of c1 works again after 3 failed polls",
                     "poll of c1 failed: timed out",
                     "poll of c1 works again after 1 failed poll"]
