"""A two-host libvirt cluster on libvirt's test driver: every open of a custom XML URI
is a fresh, isolated instance, so each test gets its own hosts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from vmconsole.backends.base import Task  # noqa: E402
from vmconsole.backends.libvirt import LibvirtBackend, open_libvirt  # noqa: E402
from vmconsole.config import LibvirtCluster  # noqa: E402

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
    backend = open_libvirt(LibvirtCluster("kvm", (PVE1, PVE2), timeout=3.0))
    backend.inventory()
    yield backend
    backend.close()


def guest_named(backend: LibvirtBackend, name: str):
    found = [g for g in backend.inventory().guests if g.name == name]
    assert found, f"no guest {name}"
    return found[0]
