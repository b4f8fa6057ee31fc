"""Guest addresses that cost a call per guest (a guest agent's `network-get-interfaces`,
a container's `interfaces`, libvirt's `virDomainInterfaceAddresses`): read for the
guest a user selects, and for the others by a slow background sweep, never by the poll.

`AddressBook` keeps each guest's last reading and sweeps on a thread of its own: one
read at a time, at most one every `pace` seconds, each guest again after `interval`
seconds (`retry` while a running guest has none yet, as while its agent boots), a
guest whose state changed first. A poll only merges what is known (`apply`), so a
hung agent (PVE waits ~10 s for one) never holds back a poll.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from vmconsole.backends.base import BackendError
from vmconsole.model import Guest, GuestAddress, GuestStatus, Inventory

log = logging.getLogger(__name__)

PACE_S = 2.0
INTERVAL_S = 120.0
RETRY_S = 20.0
CLOSE_WAIT_S = 2.0  # as long as a backend's close waits for its task followers


@dataclass(frozen=True, slots=True)
class AddressReading:
    """One guest's addresses as read at `taken_at` (epoch seconds); `note` says why
    there are none ("stopped", "no guest agent configured", the backend's error)."""

    guest_id: str
    addresses: tuple[GuestAddress, ...]
    note: str | None
    taken_at: float
    status: GuestStatus = GuestStatus.UNKNOWN  # the guest's status when read


Reader = Callable[[Guest], tuple[tuple[GuestAddress, ...], str | None]]


def _not_read(template: bool, status: GuestStatus) -> str:
    """Why a guest has no address before its first reading."""
    if template:
        return "a template does not run"
    if status is GuestStatus.STOPPED:
        return "stopped"
    if status is GuestStatus.UNKNOWN:
        return "its node cannot be reached"
    return "not read yet"


class AddressBook:
    """Readings by guest id, and the sweep that renews them; thread-safe."""

    def __init__(self, read: Reader, pace: float = PACE_S, interval: float = INTERVAL_S,
                 retry: float = RETRY_S, name: str = "addresses") -> None:
        self._read = read
        self.pace, self.interval, self.retry = pace, interval, retry
        self._name = name
        self._readings: dict[str, AddressReading] = {}
        # guest id -> (the poll's guest, the reading merged into it, the result): a guest
        # the backend reused unchanged stays the same object, which the diff then skips.
        self._merged: dict[str, tuple[Guest, AddressReading | None, Guest]] = {}
        self._guests: Sequence[Guest] = ()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def read_now(self, guest: Guest) -> AddressReading:
        """Read one guest's addresses at once (blocking: up to the backend's timeout) and
        keep the reading; a BackendError becomes the reading's note."""
        try:
            addresses, note = self._read(guest)
        except BackendError as exc:
            addresses, note = (), exc.message
        reading = AddressReading(guest.id, addresses, note, time.time(), guest.status)
        with self._lock:
            self._readings[guest.id] = reading
        return reading

    def reading(self, guest_id: str) -> AddressReading | None:
        with self._lock:
            return self._readings.get(guest_id)

    def readings(self) -> dict[str, AddressReading]:
        """Every guest's last reading by guest id, a copy: a backend that builds its
        guests with `merged_fields` from it makes each Guest once per poll, where `apply`
        would make a second one for each guest that changed (2,000 on a busy host)."""
        with self._lock:
            return dict(self._readings)

    def apply(self, inventory: Inventory) -> Inventory:
        """`inventory` with each guest's last reading merged into what the poll itself
        found (a config's or metadata's addresses); a reading made while the guest was in
        another state is dropped. Hands the sweep the current guests and starts it."""
        guests = []
        with self._lock:
            present = {g.id for g in inventory.guests}
            for gone in [k for k in self._readings if k not in present]:
                del self._readings[gone]
            for gone in [k for k in self._merged if k not in present]:
                del self._merged[gone]
            for guest in inventory.guests:
                reading = self._readings.get(guest.id)
                if reading is not None and reading.status is not guest.status:
                    del self._readings[guest.id]
                    reading = None
                last = self._merged.get(guest.id)
                if last is not None and last[0] is guest and last[1] is reading:
                    guests.append(last[2])
                    continue
                result = merged(guest, reading)
                self._merged[guest.id] = (guest, reading, result)
                guests.append(result)
            self._guests = inventory.guests
        self._start()
        self._wake.set()
        return replace(inventory, guests=tuple(guests))

    def close(self) -> None:
        """Stop the sweep, and wait up to CLOSE_WAIT_S for its read under way: a closed
        backend sends nothing more (a sweep that outlived its test's backend, opened with
        TLS verification off, sent its request in the next test, which urllib3 warned
        of there). A read that hangs longer ends on its own timeout."""
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(CLOSE_WAIT_S)

    def _start(self) -> None:
        if self._thread is None and not self._stopped.is_set():
            self._thread = threading.Thread(target=self._sweep, daemon=True, name=self._name)
            self._thread.start()

    def due(self, now: float) -> Guest | None:
        """The guest to read next: a guest never read (running first), else the one
        whose reading is the most overdue; None when none is due."""
        best: tuple[float, Guest] | None = None
        with self._lock:
            for guest in self._guests:
                if guest.template or guest.status is GuestStatus.UNKNOWN:
                    continue
                reading = self._readings.get(guest.id)
                if reading is None:
                    age = float("inf") if guest.running else 1e12
                else:
                    wait = self.retry if guest.running and not reading.addresses \
                        else self.interval
                    age = now - reading.taken_at - wait
                if age >= 0 and (best is None or age > best[0]):
                    best = (age, guest)
        return best[1] if best else None

    def _sweep(self) -> None:
        while not self._stopped.is_set():
            guest = self.due(time.time())
            if guest is None:
                self._wake.wait(self.pace)
                self._wake.clear()
                continue
            try:
                self.read_now(guest)
            except Exception:  # the sweep outlives any one guest's failure
                log.exception("reading the addresses of %s", guest.id)
            self._stopped.wait(self.pace)


def merged_fields(own: tuple[GuestAddress, ...], own_note: str | None, template: bool,
                  status: GuestStatus, reading: AddressReading | None
                  ) -> tuple[tuple[GuestAddress, ...], str | None]:
    """A guest's `addresses` (its `own`, as the poll found them, then a reading's, each
    (address, source) once) and its `address_note`: why there is none, None when there
    are some. From parts, so that a backend can build each Guest once (`readings`)."""
    extra = reading.addresses if reading is not None else ()
    if extra:
        seen = {(a.ip, a.source) for a in own}
        addresses = own + tuple(a for a in extra if (a.ip, a.source) not in seen)
    else:
        addresses = own
    if addresses:
        return addresses, None
    if reading is not None and not template:
        return addresses, reading.note or "none reported"
    return addresses, own_note or _not_read(template, status)


def merged(guest: Guest, reading: AddressReading | None) -> Guest:
    """The guest with `merged_fields` (the same object when they are its own)."""
    addresses, note = merged_fields(guest.addresses, guest.address_note, guest.template,
                                    guest.status, reading)
    if addresses == guest.addresses and note == guest.address_note:
        return guest
    return replace(guest, addresses=addresses, address_note=note)
