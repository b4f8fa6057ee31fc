"""Guest addresses from Proxmox (fakepve): the QEMU guest agent's
network-get-interfaces, a container's interfaces, the config's static ip= as the
fallback, and a note saying why a guest has none."""

from __future__ import annotations

import copy
import time
from typing import Any

from vmconsole.backends.abilities import SupportsGuestAddresses
from vmconsole.backends.proxmox import ProxmoxBackend
from vmconsole.model import AddressSource, Inventory

from .conftest import LAB, FakePveProcess

AGENT_INTERFACES = [
    {"name": "lo", "hardware-address": "00:00:00:00:00:00",
     "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8}]},
    {"name": "ens18", "hardware-address": "bc:24:11:00:01:00",
     "ip-addresses": [{"ip-address": "fe80::be24:11ff:fe00:100", "ip-address-type": "ipv6",
                       "prefix": 64},
                      {"ip-address": "198.51.100.7", "ip-address-type": "ipv4", "prefix": 24}]},
]


def seed(**changes: dict[str, Any]) -> dict[str, Any]:
    """LAB with per-guest changes by vmid: "config" entries are added, "attrs" set."""
    lab = copy.deepcopy(LAB)
    for guest in lab["guests"]:
        change = changes.get(str(guest["vmid"]), {})
        guest["config"].update(change.get("config", {}))
        guest.setdefault("attrs", {}).update(change.get("attrs", {}))
    return lab


def addresses(reading: Any) -> list[tuple[str, str, str]]:
    return [(a.ip, str(a.source), a.interface) for a in reading.addresses]


def test_a_running_vm_with_its_agent_reports_every_interface_then_the_static_config(
        fakepve: FakePveProcess, backend: ProxmoxBackend) -> None:
    fakepve.send("reset", seed=seed(**{"100": {
        "config": {"agent": "enabled=1,fstrim_cloned_disks=1",
                   "ipconfig0": "ip=192.0.2.50/24,gw=192.0.2.1"},
        "attrs": {"agent": {"interfaces": AGENT_INTERFACES}}}}))
    assert isinstance(backend, SupportsGuestAddresses)
    backend.inventory()
    reading = backend.guest_addresses("qemu/100")
    assert addresses(reading) == [
        ("127.0.0.1", "guest agent", "lo"), ("fe80::be24:11ff:fe00:100", "guest agent", "ens18"),
        ("198.51.100.7", "guest agent", "ens18"), ("192.0.2.50", "static config", "net0")]
    assert reading.note is None
    assert reading.addresses[2].mac == "bc:24:11:00:01:00"
    assert reading.addresses[3].mac == "BC:24:11:00:01:00" and reading.addresses[3].prefix == 24
    asked = fakepve.send("get", name="requests")
    assert any(path.endswith("/qemu/100/agent/network-get-interfaces") for _, path, _ in asked)


def test_an_agent_that_is_not_running_leaves_the_static_address_and_says_why(
        fakepve: FakePveProcess, backend: ProxmoxBackend) -> None:
    fakepve.send("reset", seed=seed(**{"100": {
        "config": {"agent": "1", "ipconfig0": "ip=192.0.2.50/24,ip6=dhcp"}}}))
    backend.inventory()
    reading = backend.guest_addresses("qemu/100")
    assert addresses(reading) == [("192.0.2.50", "static config", "net0")]
    assert reading.note == "the guest agent is not running"


def test_a_vm_without_an_agent_configured_is_never_asked_and_says_so(
        fakepve: FakePveProcess, backend: ProxmoxBackend) -> None:
    fakepve.send("reset", seed=seed(**{"100": {
        "config": {"ipconfig0": "ip=dhcp"}, "attrs": {"agent": {}}}}))
    backend.inventory()
    reading = backend.guest_addresses("qemu/100")
    assert reading.addresses == ()
    assert reading.note is not None and reading.note.startswith("no guest agent configured")
    asked = fakepve.send("get", name="requests")
    assert not any("/agent/" in path for _, path, _ in asked)


def test_containers_report_their_interfaces_and_a_stopped_one_its_config(
        fakepve: FakePveProcess, backend: ProxmoxBackend) -> None:
    net = "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:00,ip={},gw=192.0.2.1"
    fakepve.send("reset", seed=seed(**{
        "200": {"config": {"net0": net.format("192.0.2.60/24")}},
        "201": {"config": {"net0": net.format("192.0.2.61/24")}}}))
    backend.inventory()
    running = backend.guest_addresses("lxc/200")
    assert ("192.0.2.60", "container", "eth0") in addresses(running)
    assert addresses(running)[-1] == ("192.0.2.60", "static config", "eth0")
    assert running.note is None
    stopped = backend.guest_addresses("lxc/201")
    assert addresses(stopped) == [("192.0.2.61", "static config", "eth0")]
    assert stopped.note == "stopped"


def _polled_until(backend: ProxmoxBackend, check: Any, timeout: float = 20.0) -> Inventory:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inventory = backend.inventory()
        if check(inventory):
            return inventory
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s")


def test_the_background_sweep_fills_the_inventory_without_a_call_per_guest_per_poll(
        fakepve: FakePveProcess, backend: ProxmoxBackend) -> None:
    fakepve.send("reset", seed=seed(**{"100": {
        "config": {"agent": "1"}, "attrs": {"agent": {"interfaces": AGENT_INTERFACES}}}}))
    first = backend.inventory()
    # Before its first reading a guest says so; a stopped guest says it is stopped.
    assert first.guest("qemu/100").address_note in ("not read yet", None)
    assert first.guest("qemu/101").address_note == "stopped"
    inventory = _polled_until(backend, lambda inv: inv.guest("qemu/100").ip is not None)
    web = inventory.guest("qemu/100")
    assert web.ip == "198.51.100.7"  # the first probe-worthy one: not lo, not link-local
    assert {a.source for a in web.addresses} == {AddressSource.AGENT}
    # Twenty polls in a row cost at most the sweep's pace in agent calls, not 20.
    before = len([p for _, p, _ in fakepve.send("get", name="requests") if "/agent/" in p])
    started = time.monotonic()
    for _ in range(20):
        backend.inventory()
    elapsed = time.monotonic() - started
    after = len([p for _, p, _ in fakepve.send("get", name="requests") if "/agent/" in p])
    assert after - before <= 1 + elapsed / 2.0
