"""What a client may send its console: terminal size, input rate, escape sequences."""

from __future__ import annotations

import pytest

from tests.serve.conftest import Running
from tests.serve.terminal import open_terminal
from vmconsole.serve.input import InputLimiter
from vmconsole.serve.limits import Limits

pytestmark = pytest.mark.timeout(60)


async def test_a_huge_terminal_is_drawn_at_the_limit_with_a_note(served: Running) -> None:
    async with await served.connect() as conn:
        term = await open_terminal(conn, 10000, 10000, screen=(600, 220))
        await term.wait_for("pve1", timeout=20)
        await term.wait_until(lambda t: "drawn at 500x200 at most" in t.notifications,
                              what="the note", timeout=20)
        assert "your terminal is 10000x10000" in term.notifications
        # Nothing is drawn beyond column 500 or row 200.
        assert not any(row[500:].strip() for row in term.screen.display)
        assert not any(row.strip() for row in term.screen.display[200:])
        term.resize(120, 30)
        await term.wait_until(lambda t: "pve1" in t.text and not t.row(0)[120:].strip(),
                              what="redrawn at 120x30")


async def test_a_key_flood_is_cut_and_the_user_told_once(served: Running) -> None:
    limits = served.server.settings.limits
    async with await served.connect() as conn:
        term = await open_terminal(conn, 120, 30)
        await term.wait_for("pve1")
        term.press("\x1b]0;" + "x" * 100_000)  # an OSC that never ends: dropped
        term.press("k" * (limits.input_burst + 100_000))
        note = "escape sequences over 256 bytes are dropped"
        await term.wait_until(lambda t: note in t.notifications, what="the input note",
                              timeout=30)
        assert term.notifications.count(note) == 1
        term.press("k" * 200_000)
        await term.settle(1.0)
        assert term.notifications.count(note) <= 1


def test_the_rate_passes_a_burst_then_the_sustained_rate() -> None:
    limits = Limits(input_rate=1000, input_burst=4000)
    limiter = InputLimiter(limits, clock=0.0)
    assert len(limiter.feed("a" * 10_000, now=0.0)) == 4000
    assert limiter.dropped == 6000
    assert limiter.feed("b" * 10, now=0.001) == "b"  # one more byte earned in 1 ms
    assert len(limiter.feed("c" * 10_000, now=2.001)) == 2000


def test_escape_sequences_are_capped_and_strings_dropped() -> None:
    limiter = InputLimiter(Limits(max_escape=64), clock=0.0)
    keys = "\x1b[A\x1b[<0;10;5M\x1b[200~pasted\x1b[201~\x1bx"  # up, click, paste, alt+x
    assert limiter.feed(keys, now=0.0) == keys
    # An OSC ends at BEL; a DCS that never ends is dropped up to the cap.
    assert limiter.feed("\x1b]0;title\x07a\x1bP" + "q" * 1000 + "b", now=0.0) == "a" + \
        "q" * (1000 - 65) + "b"
    limiter = InputLimiter(Limits(max_escape=64), clock=0.0)
    assert limiter.feed("\x1b[" + "1;" * 1000 + "Hz", now=0.0) == "z"
    assert limiter.feed("\x1b]0;title\x07y", now=0.0) == "y"
    assert limiter.feed("\x1b", now=0.0) == "\x1b"  # the escape key itself


def test_an_escape_string_a_paste_left_open_ends_at_the_pastes_end_marker() -> None:
    """ESC inside an OSC is ST's first half or the next sequence's start: a paste of
    `A ESC ]0;foo` must still end at its ESC [201~, or the console waits in the paste
    for ever and takes no key again (a tester's finding). Leaving out an escape string
    is no limit reached: the user is not told of one."""
    limiter = InputLimiter(Limits(), clock=0.0)
    assert limiter.feed("\x1b[200~A\x1b]0;foo\x1b[201~x", now=0.0) == \
        "\x1b[200~A\x1b[201~x"
    assert limiter.feed("\x1b]0;t\x1b\\y\x1b]2;t\x1b\x1b[A", now=0.0) == "y\x1b\x1b[A"
    assert limiter.dropped == 0 and limiter.stripped > 0
