"""A two-host libvirt cluster on libvirt's test driver: every open of a custom XML URI
is a fresh, isolated instance, so each test gets its own hosts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from vmconsole.backends.base import Task
from vmconsole.config import LibvirtCluster

if TYPE_CHECKING:  # the modules skip themselves where libvirt-python is missing
    from vmconsole.backends.libvirt import LibvirtBackend

FIXTURES = Path(__file__).parent / "fixtures"
PVE1 = f"test://{FIXTURES / 'pve1.xml'}"
PVE2 = f"test://{FIXTURES / 'pve2.xml'}"


def wait(backend: LibvirtBackend, task: Task, timeout: float = 60.0) -> Task:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = backend.task(task.id)
        if current.status.done:
            return current
        time.sleep(0.01)
    raise AssertionError(f"{task.operation} did not finish within {timeout} s")


@pytest.fixture
def cluster():
    from vmconsole.backends.libvirt import open_libvirt

    backend = open_libvirt(LibvirtCluster("kvm", (PVE1, PVE2), timeout=3.0))
    backend.inventory()
    yield backend
    backend.close()


def until_heard(backend: LibvirtBackend, words: str, timeout: float = 10.0) -> None:
    """Wait until the backend's event log has a line with `words` ("web1 paused on
    pve1"): libvirt delivers the lifecycle event of a change made outside the console on
    its event thread, a moment after the call, and a poll reads the domain after it."""
    deadline = time.monotonic() + timeout
    while not any(words in e.message for e in backend.events()):
        assert time.monotonic() < deadline, f"no event {words!r} within {timeout:g} s"
        time.sleep(0.02)


def guest_named(backend: LibvirtBackend, name: str):
    found = [g for g in backend.inventory().guests if g.name == name]
    assert found, f"no guest {name}"
    return found[0]


@pytest.fixture
def refusing() -> str:
    """A qemu+tcp URI whose port refuses connections (nothing listens there)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"qemu+tcp://127.0.0.1:{port}/system"


@pytest.fixture
def silent() -> Iterator[str]:
    """A qemu+tcp URI whose listener accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return  # closed at the end of the test

    threading.Thread(target=accept, daemon=True).start()
    yield f"qemu+tcp://127.0.0.1:{server.getsockname()[1]}/system"
    server.close()
    for conn in accepted:  # libvirt's stuck open then fails and its thread ends
        conn.close()
