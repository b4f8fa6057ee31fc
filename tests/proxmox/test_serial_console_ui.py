"""`C` in the console on a Proxmox VM with `serial0: socket`, driven as a user would with
the Pilot, against fakepve's termproxy (which echoes what is typed): the console opens
on its own screen, keys typed (Ctrl+C and Ctrl+Q too) reach the guest and its output is
drawn, the detach key leaves, and start and end are audited; a viewer is refused, or
watches read-only when the config says so."""

from __future__ import annotations

import contextlib
import signal

import pytest
from textual import work

from tests.ui_ops.helpers import notes, show_guest, wait_until
from vmconsole.actor import Actor, Role
from vmconsole.audit import AuditLog
from vmconsole.backends.proxmox import open_proxmox
from vmconsole.config import Config
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.screens.serial_console import SerialConsoleScreen

from .conftest import cluster_config
from .test_serial_console import serial_lab  # noqa: F401  (the fixture)


@pytest.fixture(autouse=True)
def _own_state_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # the audit log goes there


@contextlib.asynccontextmanager
async def console_on(fake, actor: Actor | None = None, config: Config | None = None):
    backend = open_proxmox(cluster_config(fake))
    loop = PollLoop(Poller(backend, interval=0.5))
    app = VMConsoleApp([loop], config=config, actor=actor)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            loop.start()
            await show_guest(pilot, loop, "web")
            yield pilot
    finally:
        loop.stop()
        backend.close()


def screen_rows(app) -> str:
    screen = app.screen
    assert isinstance(screen, SerialConsoleScreen)
    return "\n".join(screen.link.buffer.display())


def title(app) -> str:
    return str(app.screen.query_one("#serial-title").content)


def console_records():
    return [r for r in AuditLog().read() if r.operation == "console"]


async def test_an_operator_types_into_the_console_and_detaches(serial_lab):  # noqa: F811
    async with console_on(serial_lab, Actor("sam", Role.OPERATOR, "local")) as pilot:
        app = pilot.app
        await pilot.press("C")
        await wait_until(pilot, lambda: isinstance(app.screen, SerialConsoleScreen)
                         and "connected" in title(app), 10, "the console open")
        assert "Serial console: web (qemu/100 on pve1) · serial0" in title(app)
        assert "detaches" in title(app)
        await wait_until(pilot, lambda: "starting serial terminal" in screen_rows(app), 10,
                         "the proxy's greeting drawn")
        await pilot.press(*"echo hi", "enter")
        await wait_until(pilot, lambda: "echo hi" in screen_rows(app), 10, "the echo drawn")
        # The app's own keys are the guest's here: Ctrl+C interrupts, Ctrl+Q is XON.
        await pilot.press("ctrl+c", "ctrl+q", "q")
        await wait_until(pilot, lambda: "0:1:q" in serial_lab.send("get", name="termdata"),
                         10, "the keys sent")
        frames = serial_lab.send("get", name="termdata")
        assert "0:1:\x03" in frames and "0:1:\x11" in frames
        assert "1:100:29:" in frames  # the pane's size, under the title
        assert app.is_running and isinstance(app.screen, SerialConsoleScreen)
        await pilot.press("ctrl+right_square_bracket")
        await wait_until(pilot, lambda: not isinstance(app.screen, SerialConsoleScreen), 5,
                         "back to the tree")
        await wait_until(pilot, lambda: len(console_records()) == 2, 10, "start and end")
    start, end = console_records()
    assert (start.user, start.role, start.target, start.result) == (
        "sam", "operator", "qemu/100", "started")
    assert start.parameters == {"mode": "interactive", "device": "serial0"}
    assert end.result == "ended: detached" and end.parameters["mode"] == "interactive"


async def test_a_viewer_is_refused_by_default_and_the_refusal_audited(serial_lab):  # noqa: F811
    async with console_on(serial_lab, Actor("alice", Role.VIEWER, "ssh:10.0.0.9:5000")) \
            as pilot:
        app = pilot.app
        await pilot.press("C")
        await wait_until(pilot, lambda: console_records(), 10, "the refusal audited")
        assert not isinstance(app.screen, SerialConsoleScreen)
        await wait_until(pilot, lambda: any("serial console is for operators" in n
                                            for n in notes(app)), 5, "the refusal said")
    (record,) = console_records()
    assert record.user == "alice" and record.result.startswith("refused: your role is viewer")
    assert serial_lab.requests("POST", "/termproxy") == []


async def test_a_viewer_watches_read_only_when_configured(serial_lab):  # noqa: F811
    config = Config(serial_console_viewers="read-only")
    async with console_on(serial_lab, Actor("alice", Role.VIEWER, "local"), config) \
            as pilot:
        app = pilot.app
        await pilot.press("C")
        await wait_until(pilot, lambda: isinstance(app.screen, SerialConsoleScreen)
                         and "connected" in title(app), 10, "the console open")
        assert "read-only" in title(app)
        await wait_until(pilot, lambda: "starting serial terminal" in screen_rows(app), 10,
                         "the output drawn")
        await pilot.press(*"reboot", "enter")
        assert isinstance(app.screen, SerialConsoleScreen)
        await pilot.press("escape")  # keys reach no guest here: Esc leaves as well
        await wait_until(pilot, lambda: not isinstance(app.screen, SerialConsoleScreen), 5,
                         "back to the tree")
        await wait_until(pilot, lambda: len(console_records()) == 2, 10, "start and end")
    # No key and no resize: a read-only view changes nothing at the guest's end.
    assert not [f for f in serial_lab.send("get", name="termdata") if f[:2] in ("0:", "1:")]
    assert [r.parameters["mode"] for r in console_records()] == ["read-only", "read-only"]


async def test_leaving_while_the_console_opens_ends_its_opening_cleanly(
        serial_lab, monkeypatch):  # noqa: F811
    # A late open reached for the app from a screen already gone: the opening thread
    # raised NoActiveAppError (unseen: the worker was cancelled with its screen), and a
    # busy console's "take over?" was never asked nor its title updated.
    raised: list[BaseException | None] = []
    body = SerialConsoleScreen._open.__wrapped__  # type: ignore[attr-defined]

    @work(thread=True, group="serial-open", exit_on_error=False)
    def recorded(screen: SerialConsoleScreen, force: bool) -> None:
        try:
            body(screen, force)
        except BaseException as exc:
            raised.append(exc)
            raise
        raised.append(None)

    monkeypatch.setattr(SerialConsoleScreen, "_open", recorded)
    async with console_on(serial_lab, Actor("sam", Role.OPERATOR, "local")) as pilot:
        app = pilot.app
        serial_lab.proc.send_signal(signal.SIGSTOP)  # Proxmox slow to answer termproxy
        try:
            await pilot.press("C")
            await wait_until(pilot, lambda: isinstance(app.screen, SerialConsoleScreen)
                             and "connecting" in title(app), 10, "the console opening")
            await pilot.press("ctrl+right_square_bracket")  # left before it opened
            await wait_until(pilot, lambda: not isinstance(app.screen, SerialConsoleScreen),
                             5, "back to the tree")
        finally:
            serial_lab.proc.send_signal(signal.SIGCONT)
        await wait_until(pilot, lambda: raised, 20, "the opening's end")
        assert raised == [None]
        assert app.is_running and not isinstance(app.screen, SerialConsoleScreen)
        # It opened late and was closed at once, both audited.
        await wait_until(pilot, lambda: len(console_records()) == 2, 20, "start and end")
    assert [r.result for r in console_records()] == ["started", "ended: detached"]
