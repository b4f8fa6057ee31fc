"""`w` and `i` on a libvirt guest with two addresses, probed for real inside a network
namespace this test makes (the cluster's `probe_netns`): the console's own metadata
says 192.168.0.9, which nothing holds; the test driver's agent answer says
192.168.0.1, which the namespace holds. `w` probes the first that answers; `i` lists
both with their sources and switches the measurement to the one chosen."""

from __future__ import annotations

import os
import secrets
import subprocess
import time

import pytest

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from tests.libvirt.conftest import PVE1, PVE2  # noqa: E402
from tests.ping.netns_pair import why_not_available  # noqa: E402
from tests.ui_ops.helpers import act, settle, show_guest, shown_text  # noqa: E402
from vmconsole.actor import Actor, Role  # noqa: E402
from vmconsole.audit import AuditLog  # noqa: E402
from vmconsole.backends.libvirt import open_libvirt  # noqa: E402
from vmconsole.backends.libvirt.metadata import NAMESPACE, PREFIX, GuestMeta, meta_xml  # noqa: E402
from vmconsole.config import LibvirtCluster  # noqa: E402
from vmconsole.monitor.poller import Poller, PollLoop  # noqa: E402
from vmconsole.ui.app import VMConsoleApp  # noqa: E402
from vmconsole.ui.modals.address_picker import AddressPicker  # noqa: E402
from vmconsole.ui.widgets.ping_panel import PingPanel  # noqa: E402

AGENT_IP = "192.168.0.1"  # what the test driver's interfaceAddresses answers
METADATA_IP = "192.168.0.9"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def netns():
    """A namespace holding AGENT_IP on a veth whose peer answers nothing (so
    METADATA_IP, on the same subnet, never resolves); the root namespace gets nothing."""
    if (reason := why_not_available()) is not None:
        pytest.skip(reason)
    name = f"vmc-test-{os.getpid()}-{secrets.token_hex(2)}-addr"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
        _ip("-n", name, "addr", "add", f"{AGENT_IP}/24", "dev", "v0")
        _ip("-n", name, "link", "set", "v0", "up")
        _ip("-n", name, "link", "set", "v1", "up")
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=10)


async def _until(pilot, check, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


async def test_w_probes_the_first_address_that_answers_and_i_switches_to_another(
        netns, tmp_path):
    backend = open_libvirt(LibvirtCluster("kvm", (PVE1, PVE2), timeout=3.0,
                                          probe_netns=netns))
    try:
        backend.inventory()
        web1 = next(g for g in backend.last_inventory.guests if g.name == "web1")
        host, dom = backend.locate(web1.id)
        dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                        meta_xml(GuestMeta(ip=METADATA_IP)), PREFIX, NAMESPACE,
                        libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        backend.defined(host, web1.id.removeprefix("vm/"))
        loop = PollLoop(Poller(backend, interval=0.5))
        app = VMConsoleApp([loop], actor=Actor("alice", Role.ADMIN, "local"),
                           audit=AuditLog(tmp_path / "audit.jsonl"))
        loop.start()
        async with app.run_test(size=(120, 40)) as pilot:
            await show_guest(pilot, loop, "web1")
            # The detail pane lists both, each with its source, once the selected
            # guest's reading (or the sweep's) has come back with a poll.
            await _until(pilot, lambda: f"{AGENT_IP}/24 testnet0 (guest agent)"
                         in shown_text(app), "the agent's address in the detail pane")
            assert f"{METADATA_IP} (console metadata)" in shown_text(app)

            await act(pilot, "w")
            panel = app.query_one(PingPanel)
            watch = panel.watches.running_on("kvm", web1.id)
            assert watch is not None
            session = await _until(pilot, lambda: watch.measurement, "the measurement to open")
            # The metadata's address comes first in order but never answers.
            assert session.target.address == AGENT_IP and session.target.netns == netns
            await _until(pilot, lambda: session.snapshot().received >= 5,
                         "replies from the address that answers")

            await act(pilot, "i")
            assert isinstance(app.screen, AddressPicker)
            listed = shown_text(app)
            assert f"{AGENT_IP}/24  testnet0  (guest agent)  - pinged now" in listed
            assert f"{METADATA_IP}  (console metadata)" in listed
            # The highlighted option is the first probe-worthy one: the metadata's.
            await act(pilot, "enter")
            await settle(pilot)
            assert not isinstance(app.screen, AddressPicker)
            assert watch.ended == f"another address was chosen: {METADATA_IP}"
            chosen = await _until(pilot, lambda: (w := panel.watches.running_on(
                "kvm", web1.id)) is not None and w.measurement, "the new measurement")
            assert chosen.target.address == METADATA_IP
            await _until(pilot, lambda: chosen.snapshot().sent >= 5, "probes to it")
            assert chosen.snapshot().received == 0  # nothing holds it: every probe lost
            panel.stop()
    finally:
        if "loop" in locals():
            loop.stop()
        backend.close()
