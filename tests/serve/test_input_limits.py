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


async def test_keys_typed_after_esc_and_p_reach_the_console(served: Running) -> None:
    """A viewer's Esc and `P` in one burst, then `?`: the server took `ESC P` for a DCS
    string and held every key after it until a BEL or 256 bytes (a tester's finding);
    the help opens."""
    async with await served.connect() as conn:
        term = await open_terminal(conn, 120, 30)
        await term.wait_for("pve1")
        term.press("\x1bP?")
        await term.wait_for("Id (for")


async def test_a_byte_that_is_not_utf8_is_data_and_the_session_goes_on(served: Running) -> None:
    """0xff, then a Latin-1 `é` (0xe9) and `?`: the server's SSH channel decoded strictly
    and closed the connection; the bytes are U+FFFD, as on a local console
    (`ui.terminal_input`), and the `?` after them opens the help."""
    async with await served.connect() as conn:
        term = await open_terminal(conn, 120, 30)
        await term.wait_for("pve1")
        term.process.stdin.write(b"\xff\xe9?")
        await term.wait_for("Id (for")


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


def test_an_escape_string_is_one_that_ends_at_bel_or_st() -> None:
    """A terminal's reply ends with BEL or ST (ESC \\) and is left out, which is no
    limit reached: the user is not told of one. `ESC ]2;t` followed by another
    sequence never was a string: it passes as the keys it is, the arrow after it too."""
    limiter = InputLimiter(Limits(), clock=0.0)
    assert limiter.feed("\x1b]0;t\x1b\\y\x1b]2;t\x1b\x1b[A", now=0.0) == \
        "y\x1b]2;t\x1b\x1b[A"
    assert limiter.dropped == 0 and limiter.stripped == len("\x1b]0;t\x1b\\") - 1


def test_a_paste_passes_whole_as_a_local_console_gets_it() -> None:
    """Inside a bracketed paste nothing is an escape string: `A ESC ]0;foo` is pasted
    text, which the console cleans and names as a local one does (a tester saw `]0;PWN`
    and the BEL after it vanish from a served paste without a word). Its end marker
    still ends it, so keys after it are keys."""
    limiter = InputLimiter(Limits(), clock=0.0)
    paste = "\x1b[200~we\x1b[2J\x1b]0;PWN\x07b\x1b[201~"
    assert limiter.feed(paste + "x", now=0.0) == paste + "x"
    assert limiter.feed("\x1b]0;t\x07y", now=0.0) == "y"  # after the paste: a string
    assert limiter.stripped > 0


@pytest.mark.parametrize("key", list("]P_^X"))
def test_esc_and_a_key_that_begins_a_string_are_esc_then_the_key(key: str) -> None:
    """A tester's `tmux send-keys Escape ]` over SSH (Esc, then "faster"; `Escape X`:
    Esc, then "stop"): the server took `ESC ]` for an OSC and held every key after it
    until a BEL or 256 bytes, so the console took no key. Begun and not ended in what
    arrived at once, it is the keys it was: Esc and the key (alt+key, which the console
    splits), then the rest, each read passed on as it comes."""
    limiter = InputLimiter(Limits(max_escape=64), clock=0.0)
    assert limiter.feed("\x1b" + key, now=0.0) == "\x1b" + key
    assert limiter.feed("p", now=0.0) == "p"
    assert limiter.feed("\x1b" + key + "lj\x1b[A", now=0.0) == "\x1b" + key + "lj\x1b[A"
    assert limiter.feed("\x1b" + key + "\x1b" + key + "g\x1b", now=0.0) == \
        "\x1b" + key + "\x1b" + key + "g\x1b"
    assert limiter.dropped == 0 and limiter.stripped == 0
