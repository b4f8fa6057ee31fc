"""A two-host libvirt cluster on libvirt's test driver: every open of a custom XML URI
is a fresh, isolated instance, so each test gets its own hosts."""

from __future__ import annotations

import time
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


def guest_named(backend: LibvirtBackend, name: str):
    found = [g for g in backend.inventory().guests if g.name == name]
    assert found, f"no guest {name}"
    return found[0]
