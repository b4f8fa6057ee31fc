"""A host that delivers domain lifecycle events is read in full only every
`FULL_READ_S`; between full reads a change made by another client still shows within
one poll interval, a poll that finds nothing changed changes nothing on screen, and
libvirt's event thread ends with the console's poller.

"Another client" is a second connection to `test:///default`, the test driver's one
instance shared by every connection of a process (a `test:///FILE` is private to its
connection); its events reach every connection's callbacks, as libvirtd's do."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

import libvirt

from vmconsole.backends.libvirt import open_libvirt
from vmconsole.backends.libvirt.domainbook import DomainBook
from vmconsole.config import LibvirtCluster
from vmconsole.model import GuestStatus, Inventory
from vmconsole.monitor.poller import Poller, PollLoop, PollResult
from vmconsole.ui.labels import label_key

INTERVAL_S = 2.0  # the console's poll interval for a libvirt cluster
NEWCOMER = ("<domain type='test'><name>newcomer</name><memory>1048576</memory><vcpu>1</vcpu>"
            "<os><type>hvm</type></os></domain>")


class Watch:
    """The poll results a subscriber got, and a wait for one showing something."""

    def __init__(self, loop: PollLoop) -> None:
        self._results: list[PollResult] = []
        self._lock = threading.Lock()
        loop.subscribe(self._got)

    def _got(self, result: PollResult) -> None:
        with self._lock:
            self._results.append(result)

    def until(self, what: str, shown: Callable[[Inventory], bool],
              timeout: float = 4 * INTERVAL_S) -> float:
        """Seconds until a poll's inventory shows `what`; fails after `timeout`."""
        started = time.monotonic()
        while True:
            with self._lock:
                inventories = [r.inventory for r in self._results if r.inventory is not None]
            if inventories and shown(inventories[-1]):
                return time.monotonic() - started
            assert time.monotonic() - started < timeout, f"{what}: not shown in {timeout:g} s"
            time.sleep(0.05)


def status(inventory: Inventory, name: str) -> GuestStatus | None:
    """The status of the guest `name`, None when it is not listed."""
    return next((g.status for g in inventory.guests if g.name == name), None)


@pytest.fixture
def shared_host() -> Iterator[tuple[PollLoop, libvirt.virConnect]]:
    """A console's poll loop on `test:///default` whose full read never comes within
    the test (an hour), and another client's connection to the same host."""
    backend = open_libvirt(LibvirtCluster("shared", ("test:///default",), timeout=10.0))
    backend.full_read_s = 3600.0
    loop = PollLoop(Poller(backend, interval=INTERVAL_S, label_key=label_key))
    other = libvirt.open("test:///default")
    loop.start()
    try:
        yield loop, other
    finally:
        loop.stop()
        backend.close()
        # The instance lives while a connection to it is open: leave it as it was.
        for dom in other.listAllDomains(0):
            if dom.name() == "newcomer":
                dom.undefine()
            elif not dom.isActive():
                dom.create()
        other.close()


def test_another_clients_changes_show_within_one_interval_without_a_full_read(shared_host):
    loop, other = shared_host
    watch = Watch(loop)
    watch.until("the domain running", lambda inv: status(inv, "test") is GuestStatus.RUNNING)
    # Two full reads after connecting (a rate needs two readings), then none for an hour.
    time.sleep(INTERVAL_S)

    other.lookupByName("test").destroy()
    took = watch.until("destroyed: stopped",
                       lambda inv: status(inv, "test") is GuestStatus.STOPPED)
    assert took < 2 * INTERVAL_S  # its event asks for a poll: no interval waited out

    other.defineXML(NEWCOMER)
    watch.until("defined: listed", lambda inv: status(inv, "newcomer") is GuestStatus.STOPPED)
    other.lookupByName("newcomer").create()
    watch.until("started: running",
                lambda inv: status(inv, "newcomer") is GuestStatus.RUNNING)
    other.lookupByName("newcomer").destroy()
    other.lookupByName("newcomer").undefine()
    watch.until("undefined: gone", lambda inv: status(inv, "newcomer") is None)


@pytest.fixture
def busy_poller(tmp_path) -> Iterator[Poller]:
    node = tmp_path / "busy.xml"
    node.write_text("<node>" + "".join(
        f"<domain type='test'><name>busy{i:02d}</name><uuid>{uuid.UUID(int=i + 1)}</uuid>"
        "<memory>1048576</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>"
        for i in range(20)) + "</node>", encoding="utf-8")
    backend = open_libvirt(LibvirtCluster("busy", (f"test://{node}",), timeout=10.0))
    backend.full_read_s = 3600.0
    # No address sweep: each of its readings is a change of its own (test_addresses.py),
    # one every 2 s, which a slow poll here could meet.
    backend.addresses.close()
    yield Poller(backend, label_key=label_key)
    backend.close()


def test_polls_between_full_reads_change_nothing_on_screen(busy_poller):
    # Running domains of the test driver: their CPU time moves on every reading.
    busy_poller.poll()
    time.sleep(0.2)  # rates need time between the two full reads
    second = busy_poller.poll()
    for _ in range(3):
        result = busy_poller.poll()
        assert result.diff is not None and result.diff.empty  # no tree row, no pane
        assert result.inventory is not None and second.inventory is not None
        assert all(a is b for a, b in zip(second.inventory.guests, result.inventory.guests,
                                           strict=True))  # nothing for the history either
        assert {g.metrics.cpu > 0 for g in result.inventory.guests} == {True}


def test_the_event_thread_ends_with_the_poller():
    # In a process of its own: the lab's builder keeps the thread for its process.
    script = (
        "import threading, time\n"
        "from vmconsole.backends.libvirt import open_libvirt\n"
        "from vmconsole.config import LibvirtCluster\n"
        "from vmconsole.monitor.poller import Poller, PollLoop\n"
        "def events(): return [t for t in threading.enumerate() if t.name == 'libvirt-events']\n"
        "loop = PollLoop(Poller(open_libvirt(LibvirtCluster('t', ('test:///default',)))))\n"
        "loop.start()\n"
        "deadline = time.monotonic() + 30\n"
        "while loop.latest is None and time.monotonic() < deadline: time.sleep(0.05)\n"
        "print('polled', loop.latest is not None, 'running', len(events()))\n"
        "loop.stop(); loop.backend.close()\n"
        "print('after', len(events()))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.split() == ["polled", "True", "running", "1", "after", "0"]


def test_a_host_without_events_is_read_in_full_every_poll():
    # No driver at hand lacks lifecycle events (ESX's and Hyper-V's do): the book's
    # answers, poll by poll (None: every domain), for a host with them and without.
    without = DomainBook()
    without.heard("a")
    assert [without.due(t, False, 10.0, ()) for t in (0, 2, 4, 6)] == [None] * 4
    told = DomainBook()
    reads = [told.due(t, True, 10.0, ()) for t in (0, 2, 4)]
    told.heard("a")
    reads += [told.due(t, True, 10.0, ()) for t in (6, 8, 12)]
    assert reads == [None, None, frozenset(), frozenset({"a"}), frozenset(), None]
