"""A console over SSH: what the user sees and can do in it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from platformdirs import user_downloads_path

from tests.serve.conftest import Running
from tests.serve.terminal import open_terminal

pytestmark = pytest.mark.timeout(60)


async def test_first_screen_shows_the_cluster_and_who_is_logged_in(served: Running) -> None:
    async with await served.connect("operator", username="bob") as conn:
        term = await open_terminal(conn)
        await term.wait_for("pve1")
        assert "bob (operator)" in term.row(0)
        # The hub's first result to a new console carries a diff; the quorum shows anyway.
        await term.wait_for("lab quorate 3/3", timeout=5)


async def test_a_long_user_name_is_cut_and_the_role_still_shows(served: Running) -> None:
    async with await served.connect("viewer", username="[bold]x\u3164y[/]" + "A" * 100) as conn:
        term = await open_terminal(conn, 80, 24)
        await term.wait_for("pve1")
        # As data, its filler named (SSH's SASLprep makes U+3164 the jamo U+1160).
        assert "[bold]x\\u1160y[/]AAA" in term.row(0)
        assert "… (viewer)" in term.row(0)


async def test_colours_and_symbols_fit_the_clients_terminal(served: Running) -> None:
    async with await served.connect() as conn:
        term = await open_terminal(conn)
        await term.wait_for("100 web1")
        assert "▶ 100 web1" in term.text
        # 256 colours whatever the server's own terminal was
        assert b"\x1b[38;5;" in term.received and b"\x1b[38;2;" not in term.received
        plain = await open_terminal(conn, env={"LANG": "C"})
        await plain.wait_for("100 web1")
        assert "> 100 web1" in plain.text and "▶" not in plain.text


async def test_keys_reach_the_console(served: Running) -> None:
    async with await served.connect() as conn:
        term = await open_terminal(conn)
        await term.wait_for("pve1")
        term.press("?")
        await term.wait_for("Id (for")


async def test_resize_relays_the_screen(served: Running) -> None:
    async with await served.connect() as conn:
        term = await open_terminal(conn, 100, 30)
        await term.wait_until(lambda t: t.row(29).rstrip().endswith("palette"),
                              what="the footer on row 30")
        assert len(term.row(29).rstrip()) > 95
        term.resize(70, 20)
        # The footer moves to the new last row and ends at the new right edge.
        await term.wait_until(lambda t: t.row(19).rstrip().endswith("palette"),
                              what="the footer on row 20")
        assert 65 < len(term.row(19).rstrip()) <= 70
        assert "(viewer)" in term.row(0)


async def test_quit_ends_the_session_and_the_poller_stays(served: Running) -> None:
    hub = served.server.hubs[0]
    loop = hub.loop
    async with await served.connect() as conn:
        other = await open_terminal(conn)
        await other.wait_for("pve1")
        term = await open_terminal(conn)
        await term.wait_for("pve1")
        assert hub.sessions == 2
        term.press("q")
        await term.wait_closed()
        assert term.process.exit_status == 0
        assert hub.sessions == 1
        seq = loop.latest.seq if loop.latest else 0
        await asyncio.wait_for(_until(lambda: loop.latest is not None and
                                      loop.latest.seq > seq + 1), 10)
        other.press("?")
        await other.wait_for("Id (for")


async def _until(condition) -> None:  # type: ignore[no-untyped-def]
    while not condition():
        await asyncio.sleep(0.05)


async def test_a_client_that_leaves_at_once_frees_its_console(served: Running) -> None:
    hub = served.server.hubs[0]
    for _ in range(3):
        conn = await served.connect()
        await conn.create_process(term_type="xterm", term_size=(80, 24))
        conn.close()  # before the console has drawn anything
    await asyncio.wait_for(_until(lambda: not served.server.sessions), 10)
    # an observation window: a console that started late would subscribe now
    await asyncio.sleep(0.5)
    assert hub.sessions == 0


async def test_a_screenshot_is_not_saved_on_the_server(
        served: Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    downloads = user_downloads_path()
    downloads.mkdir(parents=True, exist_ok=True)  # where Textual would save it
    assert downloads.is_relative_to(tmp_path)
    async with await served.connect() as conn:
        term = await open_terminal(conn)
        await term.wait_for("pve1")
        term.press("\x10")  # ctrl+p: the command palette
        await term.wait_for("Search for commands")
        term.press("Screenshot")  # Textual's command saves where the app runs: not offered
        await term.wait_until(lambda t: "No matches found" in t.text, what="no match")
        term.press("\r")
        await term.settle(0.5)
    assert list(downloads.iterdir()) == []


async def test_a_guest_named_with_escapes_sends_no_escape_to_any_student(keys, limits) -> None:
    """A served console sends the same frames to every student: a guest whose name holds
    an OSC window title, a screen clear, an OSC 52 clipboard write and a bidi override is
    shown with those made visible, and none of them is in the bytes sent."""
    from vmconsole.backends.sim import open_sim
    from vmconsole.config import SimCluster
    from vmconsole.monitor.poller import Poller, PollLoop
    from vmconsole.serve.server import ConsoleServer, ServeSettings

    backend = open_sim(SimCluster())
    backend.sim.guests["qemu/100"].name = "\x1b]0;owned\x07\x1b[2J\x1b]52;c;eA==\x07w\u202eb"
    loop = PollLoop(Poller(backend, interval=0.5))
    loop.start()
    server = ConsoleServer([loop], ServeSettings(keys.host, keys.authorized, limits=limits))
    host, port = await server.start("127.0.0.1", 0)
    try:
        served = Running(server, host, port, keys)
        async with await served.connect() as conn:
            term = await open_terminal(conn, width=120)
            await term.wait_for("100 \\x1b]0;owned\\x07\\x1b[2J")
            for sequence in (b"\x1b]0;", b"\x1b[2J", b"\x1b]52;", "\u202e".encode()):
                assert sequence not in term.received
    finally:
        await server.stop(timeout=10.0)
        loop.stop(timeout=2.0)
        backend.close()


async def test_a_served_console_keeps_the_servers_theme_warnings_to_its_log(
        served: Running, tmp_path: Path) -> None:
    themes = tmp_path / "xdg_data_home" / "vmconsole" / "themes"
    themes.mkdir(parents=True)
    (themes / "broken.toml").write_bytes(b'name = "caf\xe9"\n')
    async with await served.connect() as conn:
        term = await open_terminal(conn)
        await term.wait_for("pve1")
        await term.settle(1.0)
        assert "broken.toml" not in term.text and "Theme" not in term.notifications
