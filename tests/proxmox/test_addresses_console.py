"""The detail pane and the address picker on Proxmox guests (fakepve): every address
with its interface and source, an interface name from the guest agent shown as data
(its escape made visible), and a guest without an address saying why."""

from __future__ import annotations

import time

from tests.ui_ops.helpers import act, show_guest, shown_text
from vmconsole.actor import Actor, Role
from vmconsole.audit import AuditLog
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.modals.address_picker import AddressPicker

from .test_addresses import seed

HOSTILE = "ens18\x1b]0;owned\x07"
INTERFACES = [
    {"name": "lo", "hardware-address": "00:00:00:00:00:00",
     "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8}]},
    {"name": HOSTILE, "hardware-address": "bc:24:11:00:01:00",
     "ip-addresses": [{"ip-address": "198.51.100.7", "ip-address-type": "ipv4", "prefix": 24},
                      {"ip-address": "2001:db8::7", "ip-address-type": "ipv6", "prefix": 64}]},
]


async def _until(pilot, check, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


async def test_the_detail_pane_and_the_picker_list_every_address_with_its_source(
        fakepve, backend, tmp_path):
    fakepve.send("reset", seed=seed(**{
        "100": {"config": {"agent": "1", "ipconfig0": "ip=192.0.2.50/24"},
                "attrs": {"agent": {"interfaces": INTERFACES}}},
        "101": {"config": {"ipconfig0": "ip=192.0.2.51/24"}}}))
    loop = PollLoop(Poller(backend, interval=0.5))
    app = VMConsoleApp([loop], actor=Actor("alice", Role.ADMIN, "local"),
                       audit=AuditLog(tmp_path / "audit.jsonl"))
    loop.start()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await show_guest(pilot, loop, "web")
            await _until(pilot, lambda: "198.51.100.7/24 ens18\\x1b]0;owned\\x07 (guest agent)"
                         in shown_text(app), "the agent's addresses in the detail pane")
            text = shown_text(app)
            assert "127.0.0.1/8 lo (guest agent)" in text
            assert "2001:db8::7/64 ens18\\x1b]0;owned\\x07 (guest agent)" in text
            assert "192.0.2.50/24 net0 (static config)" in text
            assert "\x1b" not in text

            await act(pilot, "i")
            assert isinstance(app.screen, AddressPicker)
            # its title names the guest as every title does: name, id and node
            title = str(app.screen.query_one("Vertical").border_title)
            assert title.startswith("Ping which address of web (qemu/100 on "), title
            listed = shown_text(app)
            assert "127.0.0.1/8  lo  (guest agent)  - loopback" in listed
            assert "2001:db8::7/64  ens18\\x1b]0;owned\\x07  (guest agent)  - IPv6: ICMP " \
                   "probes are IPv4 only" in listed
            assert "192.0.2.50/24  net0  (static config)" in listed
            await act(pilot, "escape")  # no probe leaves this machine for 198.51.100.7
            assert not isinstance(app.screen, AddressPicker)
            assert app.ping_watches.running_on("lab", "qemu/100") is None

            # A stopped guest with a static address lists it; one without says why.
            await show_guest(pilot, loop, "db")
            await _until(pilot, lambda: "192.0.2.51/24 net0 (static config)"
                         in shown_text(app), "the stopped guest's static address")
            await show_guest(pilot, loop, "dns")
            await _until(pilot, lambda: "Addresses none: stopped" in " ".join(  # any column
                shown_text(app).split()), "why the stopped container has none")
            await act(pilot, "w")
            assert any(n.message.startswith("dns is stopped: no outage to measure")
                       for n in app._notifications)
    finally:
        loop.stop()
