"""A domain whose job another call holds: the incoming end of a live migration holds it
until the migration ends. libvirt's QEMU driver then makes a stats read wait for the
job, up to 30 s, unless asked not to (VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT), when
the domain's record comes without what QEMU's monitor gives: disk I/O, capacity and
allocation, the guest's memory figures (qemuConnectGetAllDomainStats).

A console polling the destination of a migration that outlasts the cluster's timeout
marked the node offline and lost its guests from the tree (tests/lab/test_lab.py has
the real thing). Here the test driver's host plays that libvirtd."""

from __future__ import annotations

import threading
import time

import pytest

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from vmconsole.backends.libvirt import open_libvirt  # noqa: E402
from vmconsole.config import LibvirtCluster  # noqa: E402
from vmconsole.model import GuestStatus, NodeStatus  # noqa: E402

from .conftest import PVE1  # noqa: E402

TIMEOUT_S = 2.0
DISK_READ_BPS = 4 * 1024**2  # the guest reads its disk at this rate throughout
CAPACITY = 8 * 1024**3


class JobHeldHost:
    """A test-driver connection whose domain `web1` reports a QEMU guest's counters
    and has its job held by another call from `hold()` to `release()`."""

    def __init__(self, conn: libvirt.virConnect) -> None:
        self._conn = conn
        self._started = time.monotonic()
        self._free = threading.Event()
        self._free.set()

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)

    def hold(self) -> None:
        self._free.clear()

    def release(self) -> None:
        self._free.set()

    def _record(self, name: str, record: dict[str, int], flags: int) -> dict[str, int]:
        if name != "web1":
            return record
        # an empty CD-ROM drive first: it has no counters, job or not
        record = {**record, "cpu.time": 0, "block.count": 2, "balloon.current": 1024**2}
        if not self._free.is_set():
            if flags & libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT:
                return record  # no job: nothing from the monitor
            self._free.wait(TIMEOUT_S * 3)  # libvirt waits for the job (up to 30 s)
        read = int((time.monotonic() - self._started) * DISK_READ_BPS)
        return {**record, "balloon.rss": 512 * 1024, "block.1.rd.bytes": read,
                "block.1.wr.bytes": 0, "block.1.capacity": CAPACITY,
                "block.1.allocation": CAPACITY // 4}

    def getAllDomainStats(self, stats: int, flags: int
                          ) -> list[tuple[libvirt.virDomain, dict[str, int]]]:
        plain = flags & ~libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT
        return [(dom, self._record(dom.name(), record, flags))
                for dom, record in self._conn.getAllDomainStats(stats, plain)]


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch):
    opened: list[JobHeldHost] = []
    real_open = libvirt.open

    def open_held(uri: str) -> JobHeldHost:
        opened.append(JobHeldHost(real_open(uri)))
        return opened[-1]

    monkeypatch.setattr(libvirt, "open", open_held)
    backend = open_libvirt(LibvirtCluster("kvm", (PVE1,), timeout=TIMEOUT_S))
    backend.full_read_s = 0.0  # every poll reads every domain, as a full read does
    backend.inventory()
    yield backend, opened[0]
    opened[0].release()
    backend.close()


def web1(backend):
    inv = backend.inventory()
    return inv, next((g for g in inv.guests if g.name == "web1"), None)


def test_a_domain_busy_with_a_job_leaves_its_node_online_and_its_figures_as_they_were(held):
    backend, host = held
    time.sleep(0.3)  # the time between two reads (rates need it): nothing is awaited
    _inv, before = web1(backend)
    assert before is not None and before.maxdisk == CAPACITY
    assert before.metrics.disk_read == pytest.approx(DISK_READ_BPS, rel=0.2)
    host.hold()
    time.sleep(0.3)  # as above
    inv, during = web1(backend)
    # Not waited for past the timeout: the node is online, with its guest.
    assert inv.node("pve1").status is NodeStatus.ONLINE
    assert during is not None and during.status is GuestStatus.RUNNING
    assert (during.maxdisk, during.disk, during.metrics) == (
        before.maxdisk, before.disk, before.metrics)
    time.sleep(1.0)  # the job held a while, as a migration holds it: nothing is awaited
    host.release()
    _inv, after = web1(backend)
    # The read after the job spans the whole time since the last one: no spike.
    assert after is not None and after.maxdisk == CAPACITY
    assert after.metrics.disk_read == pytest.approx(DISK_READ_BPS, rel=0.2)
