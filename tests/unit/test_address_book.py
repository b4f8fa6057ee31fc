"""The address book's promises: the poll never reads (it merges what is known), the
sweep reads one guest at a time at its pace, running guests first, and a reading made
while the guest was in another state is dropped."""

from __future__ import annotations

import threading
import time

from vmconsole.backends.addresses import AddressBook
from vmconsole.backends.base import Unreachable
from vmconsole.model import (
    AddressSource,
    Guest,
    GuestAddress,
    GuestKind,
    GuestStatus,
    Inventory,
    probe_order,
)


def _guest(n: int, status: GuestStatus = GuestStatus.RUNNING, **kw: object) -> Guest:
    return Guest(f"qemu/{n}", f"g{n}", GuestKind.VM, "pve1", status, vmid=n, **kw)  # type: ignore[arg-type]


class Reader:
    """Answers 10.0.0.N for running guest N, and records who was asked and when."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, float]] = []
        self.lock = threading.Lock()

    def __call__(self, guest: Guest) -> tuple[tuple[GuestAddress, ...], str | None]:
        with self.lock:
            self.asked.append((guest.id, time.monotonic()))
        if guest.vmid == 13:
            raise Unreachable("pve1: no answer within 3 s")
        if not guest.running:
            return (), "stopped"
        return (GuestAddress(f"10.0.0.{guest.vmid}", AddressSource.AGENT, "eth0"),), None


def _until(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.01)
    raise AssertionError(f"not within {timeout} s")


def test_polls_merge_and_the_sweep_reads_at_its_pace_running_guests_first() -> None:
    reader = Reader()
    book = AddressBook(reader, pace=0.1, interval=60.0, retry=60.0)
    guests = (_guest(1, GuestStatus.STOPPED), _guest(2), _guest(3, template=True),
              _guest(4))
    inventory = Inventory("lab", (), guests)
    try:
        first = book.apply(inventory)
        assert [g.address_note for g in first.guests] == [
            "stopped", "not read yet", "a template does not run", "not read yet"]
        _until(lambda: len(reader.asked) >= 3)
        time.sleep(0.3)  # time for reads that must not happen
        asked = [guest_id for guest_id, _ in reader.asked]
        # Running guests before the stopped one; never the template; each once.
        assert sorted(asked[:2]) == ["qemu/2", "qemu/4"] and asked[2:] == ["qemu/1"]
        gaps = [b - a for (_, a), (_, b) in zip(reader.asked, reader.asked[1:], strict=False)]
        assert all(gap >= 0.09 for gap in gaps), gaps
        merged = book.apply(inventory)
        assert [g.ip for g in merged.guests] == [None, "10.0.0.2", None, "10.0.0.4"]
        assert [g.address_note for g in merged.guests] == [
            "stopped", None, "a template does not run", None]
        # Twenty polls read nothing more: the readings are not due for a minute.
        for _ in range(20):
            book.apply(inventory)
        assert len(reader.asked) == 3
        # Guest 2 stopped: what its agent said is dropped, it says why, it is read again.
        stopped = book.apply(Inventory("lab", (), (guests[0], _guest(2, GuestStatus.STOPPED),
                                                   guests[2], guests[3])))
        assert stopped.guests[1].addresses == () and stopped.guests[1].address_note == "stopped"
        _until(lambda: len(reader.asked) == 4)
        assert reader.asked[3][0] == "qemu/2"
    finally:
        book.close()


def test_a_failed_read_is_the_reading_s_note_and_merged_addresses_keep_the_poll_s() -> None:
    book = AddressBook(Reader(), pace=60.0)
    own = (GuestAddress("192.0.2.13", AddressSource.METADATA),)
    guest = _guest(13, addresses=own)
    reading = book.read_now(guest)
    assert reading.addresses == () and reading.note == "pve1: no answer within 3 s"
    (merged,) = book.apply(Inventory("lab", (), (guest,))).guests
    assert merged.addresses == own and merged.address_note is None
    book.close()


def test_a_guest_the_poll_reused_stays_the_same_object_until_its_reading_changes() -> None:
    # The libvirt backend hands back an idle domain's Guest object unchanged, so that the
    # poller's diff and history skip it by identity; the merge must not make a new one.
    book = AddressBook(Reader(), pace=60.0)
    book.close()  # no sweep: only this test's own read changes the reading
    idle = _guest(2)
    first = book.apply(Inventory("lab", (), (idle,))).guests[0]
    again = book.apply(Inventory("lab", (), (idle,))).guests[0]
    assert first.address_note == "not read yet" and again is first
    book.read_now(idle)
    read = book.apply(Inventory("lab", (), (idle,))).guests[0]
    assert read is not first and read.ip == "10.0.0.2"
    assert book.apply(Inventory("lab", (), (idle,))).guests[0] is read
    busier = _guest(2, uptime=5.0)  # a new poll's object: merged afresh
    assert book.apply(Inventory("lab", (), (busier,))).guests[0].uptime == 5.0


def test_probe_order_puts_ipv4_first_and_skips_what_cannot_be_probed() -> None:
    found = [GuestAddress(ip, AddressSource.AGENT) for ip in (
        "127.0.0.1", "fe80::1", "2001:db8::1", "169.254.1.1", "10.0.0.5", "10.0.0.5",
        "not-an-ip", "224.0.0.1", "192.0.2.1")]
    assert [a.ip for a in probe_order(found)] == ["10.0.0.5", "192.0.2.1", "2001:db8::1"]


def test_close_returns_once_the_read_under_way_has_ended() -> None:
    """A closed backend sends nothing more: a sweep left reading after its test's backend
    was closed (TLS verification off) sent its request in the next test."""
    began, done = threading.Event(), threading.Event()

    def slow(guest: Guest) -> tuple[tuple[GuestAddress, ...], str | None]:
        began.set()
        time.sleep(0.3)  # a read under way: the request in flight
        done.set()
        return (), None

    book = AddressBook(slow, pace=60.0)
    book.apply(Inventory("lab", (), (_guest(1),)))
    assert began.wait(10.0)
    book.close()
    assert done.is_set()
