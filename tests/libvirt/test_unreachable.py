"""A host that is down says why: a refusing port and a listener that accepts and never
speaks, next to a healthy host on libvirt's test driver, over libvirt's real remote
driver (qemu+tcp) on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from vmconsole.backends.libvirt import open_libvirt
from vmconsole.config import LibvirtCluster
from vmconsole.model import Inventory, NodeStatus

from .conftest import PVE1

TIMEOUT = 5.0


def poll_until(backend, check: Callable[[Inventory], bool], timeout: float) -> Inventory:
    deadline = time.monotonic() + timeout
    while True:
        inv = backend.inventory()
        if check(inv) or time.monotonic() > deadline:
            return inv
        time.sleep(0.2)


def test_a_hung_host_does_not_delay_the_others_and_each_down_host_says_why(refusing, silent):
    backend = open_libvirt(LibvirtCluster("kvm", (PVE1, refusing, silent), timeout=TIMEOUT))
    try:
        started, before = time.monotonic(), time.time()
        inv = backend.inventory()
        assert time.monotonic() - started < TIMEOUT / 2, "the first sight waited for a hung host"
        healthy, down, hung = inv.nodes
        assert healthy.status is NodeStatus.ONLINE and inv.guests_on("pve1")
        # Two hosts on one machine are told apart by their port.
        assert down.name == refusing.split("/")[2] and hung.name == silent.split("/")[2]
        assert down.status is NodeStatus.OFFLINE and down.address == refusing
        assert "Connection refused" in down.error
        assert before <= down.since <= time.time() and down.next_try >= down.since
        assert hung.status is NodeStatus.CONNECTING and hung.address == silent
        inv = poll_until(backend, lambda i: i.nodes[2].status is NodeStatus.OFFLINE,
                         TIMEOUT * 3)
        hung = inv.nodes[2]
        assert hung.status is NodeStatus.OFFLINE
        assert hung.error == f"no answer within {TIMEOUT:g} s"
        assert hung.next_try is None  # libvirt cannot cancel the open under way
        assert hung.since >= before and inv.nodes[0].status is NodeStatus.ONLINE
    finally:
        backend.close()
