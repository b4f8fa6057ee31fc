"""A poll of a libvirt host that finds nothing new changes nothing: no changed guest in
the poller's diff (so no tree row or detail pane is redrawn) and no new Guest object (so
the history writes nothing), while every domain's state and figures are still read.

The host is libvirt's test driver with running domains: their CPU time is the wall
clock (100 % of a vCPU), the steady rate a busy guest has, moving on every poll."""

import time
import uuid

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from vmconsole.backends.libvirt import open_libvirt
from vmconsole.config import LibvirtCluster
from vmconsole.model import GuestStatus
from vmconsole.monitor.poller import Poller, PollResult
from vmconsole.ui.labels import label_key

DOMAINS = 20


@pytest.fixture
def poller(tmp_path):
    node = tmp_path / "busy.xml"
    node.write_text("<node>" + "".join(
        f"<domain type='test'><name>busy{i:02d}</name><uuid>{uuid.UUID(int=i + 1)}</uuid>"
        "<memory>1048576</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>"
        for i in range(DOMAINS)) + "</node>", encoding="utf-8")
    backend = open_libvirt(LibvirtCluster("busy", (f"test://{node}",), timeout=10.0))
    # Every domain read on every poll, as a host without domain events is (the slow
    # full read of a host with them: test_domain_events.py).
    backend.full_read_s = 0.0
    yield Poller(backend, label_key=label_key)
    backend.close()


def first_poll_with_nothing_new(poller: Poller, timeout: float = 30.0) -> tuple[
        PollResult, PollResult]:
    """(the poll before, the first poll whose diff is empty), polling as the console
    does but 0.5 s apart. A domain can still change by timing alone (the thread
    descheduled between its clock reading and libvirt's), hence a deadline, not one
    poll."""
    before = poller.poll()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)  # the time between polls: rates need it, nothing is awaited
        result = poller.poll()
        assert result.diff is not None
        if result.diff.empty:
            return before, result
        before = result
    raise AssertionError(f"every poll in {timeout:g} s changed guests: {result.diff}")


def test_busy_domains_polled_again_are_no_change(poller):
    before, quiet = first_poll_with_nothing_new(poller)
    assert before.inventory is not None and quiet.inventory is not None
    # The very objects of the poll before, which the history and the diff skip...
    assert all(a is b for a, b in zip(before.inventory.guests, quiet.inventory.guests,
                                       strict=True))
    # ...and still each domain's live figure: a busy vCPU, not a zero.
    assert len(quiet.inventory.guests) == DOMAINS
    assert {(g.status, g.metrics.cpu) for g in quiet.inventory.guests} == {
        (GuestStatus.RUNNING, 1.0)}


def test_a_change_after_quiet_polls_is_in_the_next_diff(poller):
    _before, quiet = first_poll_with_nothing_new(poller)
    assert quiet.inventory is not None
    target = quiet.inventory.guests[3]
    host = poller.backend.hosts[0]  # type: ignore[attr-defined]
    host.call(lambda c: c.lookupByName(target.name).suspend(), "pausing a domain")
    result = poller.poll()
    assert result.diff is not None and result.inventory is not None
    # (other guests' rates may move by timing alone in so short a poll: not relabelled)
    assert target.id in result.diff.changed and result.diff.relabelled == (target.id,)
    assert result.inventory.guest(target.id).status is GuestStatus.PAUSED
