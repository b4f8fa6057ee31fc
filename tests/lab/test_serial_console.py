"""The serial console end to end on real QEMU: a lab guest boots a busybox shell on its
ttyS0, and the console opens it through libvirt's `virDomainOpenConsole` stream, types
a command and reads its output; first through the backend, then in the app with `C`.

One small lab (one node, one guest) serves the module."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from tests.lab.built import BuiltLab
from tests.lab.requires import skip_unless_a_lab_can_be_built

pytestmark = [pytest.mark.lab, pytest.mark.timeout(400)]


skip_unless_a_lab_can_be_built()

from tests.ui_ops.helpers import show_guest, wait_until  # noqa: E402
from vmconsole.actor import Actor, Role  # noqa: E402
from vmconsole.audit import AuditLog  # noqa: E402
from vmconsole.backends.libvirt import open_libvirt  # noqa: E402
from vmconsole.backends.serial import ConsoleBusy  # noqa: E402
from vmconsole.config import LibvirtCluster  # noqa: E402
from vmconsole.monitor.poller import Poller, PollLoop  # noqa: E402
from vmconsole.ui.app import VMConsoleApp  # noqa: E402
from vmconsole.ui.screens.serial_console import SerialConsoleScreen  # noqa: E402

COMMAND = "echo lab-$((6*7))-ok"  # its output, lab-42-ok, is not in what is typed
OUTPUT = "lab-42-ok"


@pytest.fixture(scope="module")
def lab(built_lab: BuiltLab) -> LibvirtCluster:
    return built_lab.cluster


class Sink:
    def __init__(self) -> None:
        self.data = bytearray()
        self.ends: list[str] = []
        self.lock = threading.Lock()

    def received(self, data: bytes) -> None:
        with self.lock:
            self.data += data

    def ended(self, reason: str) -> None:
        self.ends.append(reason)


def until(what: str, check, timeout: float, every=None) -> None:
    """Poll `check` up to `timeout` s; `every()` runs between tries (a key typed again
    while the guest is still booting to its shell)."""
    deadline = time.monotonic() + timeout
    last = 0.0
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        if every is not None and time.monotonic() - last > 2.0:
            every()
            last = time.monotonic()
        time.sleep(0.05)


def test_a_command_typed_on_the_serial_line_runs_in_the_guest(lab):
    backend = open_libvirt(lab)
    try:
        until("vm1 listed", lambda: any(g.name == "vm1" and g.running
                                        for g in backend.inventory().guests), 60)
        vm1 = next(g for g in backend.inventory().guests if g.name == "vm1")
        sink = Sink()
        console = backend.open_console(vm1.id, sink)
        assert console.device in ("console", "serial")
        until("the shell's answer", lambda: OUTPUT.encode() in sink.data, 120,
              every=lambda: console.send(f"{COMMAND}\r".encode()))
        # libvirt lets one client hold a console: a second is told, and may take over.
        with pytest.raises(ConsoleBusy, match="another session has the console"):
            backend.open_console(vm1.id, Sink())
        second = Sink()
        taker = backend.open_console(vm1.id, second, force=True)
        until("the first console ended", lambda: sink.ends, 20)
        assert "another session took it over" in sink.ends[0], sink.ends
        taker.send(b"echo taken-$((1+1))\r")
        until("the new console answers", lambda: b"taken-2" in second.data, 30)
        taker.close()
        until("detached", lambda: second.ends == ["detached"], 10)
    finally:
        backend.close()


async def test_c_in_the_console_opens_the_guest_shell(lab, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    backend = open_libvirt(lab)
    loop = PollLoop(Poller(backend, interval=1.0))
    app = VMConsoleApp([loop], actor=Actor("sam", Role.OPERATOR, "local"))
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            loop.start()
            vm1 = await show_guest(pilot, loop, "vm1", 60)
            await pilot.press("C")
            await wait_until(pilot, lambda: isinstance(app.screen, SerialConsoleScreen)
                             and "connected" in str(app.screen.query_one("#serial-title")
                                                    .content), 30, "the console open")
            screen = app.screen
            assert isinstance(screen, SerialConsoleScreen)

            def shown() -> str:
                return "\n".join(screen.link.buffer.display())

            deadline = time.monotonic() + 120
            while OUTPUT not in shown():  # typed again while the guest boots to its shell
                assert time.monotonic() < deadline, shown()
                await pilot.press(*COMMAND, "enter")
                with contextlib.suppress(AssertionError):  # not yet: type it again
                    await wait_until(pilot, lambda: OUTPUT in shown(), 3, "the answer")
            assert COMMAND in shown()  # the line as the guest echoed it, then its output
            await pilot.press("ctrl+right_square_bracket")
            await wait_until(pilot, lambda: not isinstance(app.screen, SerialConsoleScreen),
                             5, "back to the tree")
            records = lambda: [r for r in AuditLog().read()  # noqa: E731
                               if r.operation == "console"]
            await wait_until(pilot, lambda: len(records()) == 2, 10, "start and end")
        start, end = records()
        assert (start.target, start.result, end.result) == (vm1.id, "started",
                                                            "ended: detached")
    finally:
        loop.stop()
        backend.close()
