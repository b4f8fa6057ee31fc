"""What `vmconsole serve` and `vmconsole ha run` pass on of descriptor 2: each line
stamped with its date and time (a log is read on other days), and one repeated within a
minute counted, not written again (libxml2 under a `test:///` URI repeats its warning at
every reconnection, every ~10 s, and flooded the administrator's terminal and the log it
was piped to)."""

from __future__ import annotations

import io
import os
import re

import pytest

from vmconsole.stderr_pipe import LINE_LIMIT, stderr_through
from vmconsole.terminal_lines import TerminalLines

WARNING = 'I/O warning : failed to load external entity "/nonexistent/\x1b]0;PWNED\x07.xml"'
SHOWN = 'I/O warning : failed to load external entity "/nonexistent/\\x1b]0;PWNED\\x07.xml"'


#: 2026-12-02 16:20:05 UTC, the suite's time zone (conftest).
START = 1796228405.0
#: The stamp of a line written at any time.
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


class Clock:
    def __init__(self) -> None:
        self.t = START

    def __call__(self) -> float:
        return self.t


def test_a_library_line_written_to_descriptor_2_reaches_the_terminal_stamped_and_once(
        capfd: pytest.CaptureFixture[str]) -> None:
    with stderr_through():
        for _ in range(3):
            os.write(2, f"{WARNING}\n".encode())
        os.write(2, b"Host key verification failed.\n")
    shown = capfd.readouterr().err.splitlines()
    assert len(shown) == 3, shown
    assert re.fullmatch(f"{STAMP} {re.escape(SHOWN)}", shown[0])
    assert re.fullmatch(f"{STAMP} Host key verification failed.", shown[1])
    # the count is written when the block ends, not lost
    assert re.fullmatch(f"{STAMP} repeated 2x since {STAMP}: {re.escape(SHOWN)}", shown[2])


def test_a_line_repeated_every_10_s_is_counted_once_a_minute() -> None:
    clock, terminal = Clock(), io.StringIO()
    lines = TerminalLines(terminal, LINE_LIMIT, clock)
    for _ in range(13):  # two minutes of reconnections, 10 s apart
        lines([WARNING])
        clock.t += 10
    lines(["pve2: connected"])
    lines.end()
    assert terminal.getvalue().splitlines() == [
        f"2026-12-02 16:20:05 {SHOWN}",
        f"2026-12-02 16:21:05 repeated 6x since 2026-12-02 16:20:05: {SHOWN}",
        f"2026-12-02 16:22:05 repeated 6x since 2026-12-02 16:21:05: {SHOWN}",
        "2026-12-02 16:22:15 pve2: connected"]


def test_a_line_back_after_a_quiet_minute_is_written_again() -> None:
    clock, terminal = Clock(), io.StringIO()
    lines = TerminalLines(terminal, LINE_LIMIT, clock)
    lines([WARNING, "other"])
    clock.t += 61
    lines(["other"])  # the minute has passed: both are forgotten, "other" written afresh
    clock.t += 1
    lines([WARNING])
    assert terminal.getvalue().splitlines() == [
        f"2026-12-02 16:20:05 {SHOWN}", "2026-12-02 16:20:05 other",
        "2026-12-02 16:21:06 other", f"2026-12-02 16:21:07 {SHOWN}"]


def test_ever_new_lines_are_all_written_and_only_the_newest_remembered() -> None:
    clock, terminal = Clock(), io.StringIO()
    lines = TerminalLines(terminal, LINE_LIMIT, clock)
    lines([WARNING, WARNING])
    lines([f"line {n}" for n in range(100)])  # the warning is forgotten: its count said
    lines([WARNING])
    shown = terminal.getvalue().splitlines()
    assert len(shown) == 1 + 100 + 1 + 1
    stamp = "2026-12-02 16:20:05"
    assert shown[1 + 32] == f"{stamp} repeated 1x since {stamp}: {SHOWN}"  # 32 newer
    assert shown[-1] == f"{stamp} {SHOWN}"


def test_a_count_written_the_next_day_dates_the_line_it_counts() -> None:
    clock, terminal = Clock(), io.StringIO()
    lines = TerminalLines(terminal, LINE_LIMIT, clock)
    lines([WARNING, WARNING])
    clock.t += 9 * 3600  # quiet until the next morning: the count waits for a line
    lines(["pve2: connected"])
    assert terminal.getvalue().splitlines() == [
        f"2026-12-02 16:20:05 {SHOWN}",
        "2026-12-03 01:20:05 pve2: connected",
        f"2026-12-03 01:20:05 repeated 1x since 2026-12-02 16:20:05: {SHOWN}"]
