"""A Proxmox guest's serial console through termproxy and its websocket, against
fakepve (which checks the ticket, the user it was issued to, and echoes what is typed
in termproxy's framing)."""

from __future__ import annotations

import threading
import time

import aiohttp
import pytest

from vmconsole.backends.base import AuthError, Conflict, NotSupported
from vmconsole.backends.proxmox import open_proxmox, termproxy

from .conftest import LAB, cluster_config
from .test_auth_tls import PASSWORD, fingerprint

WEB = "qemu/100"


class Sink:
    """What a console pane would be handed: the bytes, and the end with its reason."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.ends: list[str] = []
        self.lock = threading.Lock()

    def received(self, data: bytes) -> None:
        with self.lock:
            self.data += data

    def ended(self, reason: str) -> None:
        self.ends.append(reason)

    def wait_for(self, what: bytes | None = None, ended: bool = False,
                 timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not ((what is not None and what in self.data) or (ended and self.ends)):
            assert time.monotonic() < deadline, (bytes(self.data), self.ends)
            time.sleep(0.01)


@pytest.fixture
def serial_lab(fakepve_process):
    """The LAB cluster with `serial0: socket` on the running VM `web`."""
    seed = {**LAB, "guests": [dict(g) for g in LAB["guests"]]}
    web = next(g for g in seed["guests"] if g["vmid"] == 100)
    web["config"] = {**web["config"], "serial0": "socket"}
    fakepve_process.send("reset", seed=seed)
    return fakepve_process


def test_typed_text_goes_to_the_guest_and_its_output_comes_back(serial_lab):
    backend = open_proxmox(cluster_config(serial_lab))
    try:
        sink = Sink()
        console = backend.open_console(WEB, sink)
        assert console.device == "serial0"
        sink.wait_for(b"starting serial terminal on interface serial0")
        console.send("echo héllo\r".encode())
        sink.wait_for("echo héllo\r".encode())
        console.resize(100, 30)
        console.close()
        sink.wait_for(ended=True)
        assert sink.ends == ["detached"]
        frames = serial_lab.send("get", name="termdata")
        # termproxy's framing: 0:LEN:DATA with LEN in UTF-8 bytes; 1:COLS:ROWS: a resize
        assert "0:12:echo héllo\r" in frames
        assert "1:100:30:" in frames
        assert serial_lab.requests("POST", "/qemu/100/termproxy") == [{"serial": "serial0"}]
    finally:
        backend.close()


def test_a_vm_without_a_serial_socket_is_refused_with_how_to_add_one(fakepve):
    backend = open_proxmox(cluster_config(fakepve))
    try:
        with pytest.raises(NotSupported, match=r"qm set 100 --serial0 socket"):
            backend.open_console(WEB, Sink())
        assert fakepve.requests("POST", "/termproxy") == []
    finally:
        backend.close()


def test_a_stopped_guest_has_no_console(serial_lab):
    backend = open_proxmox(cluster_config(serial_lab))
    try:
        with pytest.raises(Conflict, match="stopped"):
            backend.open_console("qemu/101", Sink())
    finally:
        backend.close()


def test_a_ticket_login_with_a_pinned_fingerprint_opens_it_too(serial_lab):
    """The websocket is authenticated by the login ticket's cookie and its certificate
    checked against the pinned fingerprint, as the API's requests are."""
    backend = open_proxmox(cluster_config(serial_lab, ca_file=None,
                                          fingerprint=fingerprint(serial_lab.cafile),
                                          **PASSWORD))
    try:
        sink = Sink()
        console = backend.open_console(WEB, sink)
        console.send(b"uptime\r")
        sink.wait_for(b"uptime\r")
        console.close()
        sink.wait_for(ended=True)
    finally:
        backend.close()


def test_a_websocket_with_another_certificate_is_refused_before_the_ticket(serial_lab,
                                                                         monkeypatch):
    backend = open_proxmox(cluster_config(serial_lab))
    wrong = aiohttp.Fingerprint(bytes.fromhex(fingerprint(serial_lab.other_cafile)))
    monkeypatch.setattr(termproxy, "_tls", lambda _conn: wrong)
    try:
        with pytest.raises(AuthError, match="does not match the pinned fingerprint"):
            backend.open_console(WEB, Sink())
        assert serial_lab.send("get", name="termdata") == []  # no ticket, no keys sent
    finally:
        backend.close()


def test_a_refused_terminal_is_said(serial_lab):
    serial_lab.set(refuse_terminal=True)
    backend = open_proxmox(cluster_config(serial_lab))
    try:
        with pytest.raises(AuthError, match="refused its ticket"):
            backend.open_console(WEB, Sink())
    finally:
        backend.close()
