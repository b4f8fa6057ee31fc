"""`vmconsole.bulk.run_bulk` on the simulator: never more than the cap of tasks at
once, every guest through `Operations.perform` (one audit record each), and a guest
refused midway listed while the others finish."""

from __future__ import annotations

import threading
import time

from vmconsole.actor import Actor, Role
from vmconsole.audit import AuditLog
from vmconsole.backends.sim.backend import SimBackend
from vmconsole.backends.sim.clock import RealClock
from vmconsole.bulk import CANCELLED, BulkItem, BulkPlan, BulkReport, run_bulk
from vmconsole.commands.audit import format_record
from vmconsole.config import SimCluster
from vmconsole.operations import Operations, OpRequest


def test_the_cap_bounds_the_tasks_running_and_a_refusal_midway_stops_no_other(tmp_path):
    backend = SimBackend(SimCluster(guests=12), clock=RealClock(time_scale=50.0))
    guests = [g for g in backend.inventory().guests if not g.template]
    for guest in guests:
        backend.stop(guest.id)
    deadline = time.monotonic() + 30
    while any(g.running for g in backend.inventory().guests):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    locked = guests[4].id
    backend.lock_guest(locked, "backup")
    audit = AuditLog(tmp_path / "audit.jsonl")
    operations = Operations(Actor("alice", Role.OPERATOR), audit, lambda _c: backend)
    plan = BulkPlan("lab", "start", "Start 10 guests", tuple(
        BulkItem(OpRequest("lab", g.id, "start", f"Start {g.name}"),
                 lambda b, gid=g.id: b.start(gid), g.name, "start", g.node) for g in guests))
    most = 0
    lock = threading.Lock()

    def progress(report: BulkReport, _task) -> None:
        nonlocal most
        with lock:
            most = max(most, len(report.running))

    report = run_bulk(operations, plan, progress, cap=3, poll_s=0.05, summary_id="bulk-1")
    assert most == 3
    assert [e.item.request.target for e in report.failures] == [locked]
    assert "locked" in report.failures[0].error
    # An HA guest's start is a request: the HA manager starts it at its next round.
    deadline = time.monotonic() + 10
    while {g.id for g in backend.inventory().guests if g.running} != (
            {g.id for g in guests} - {locked}):
        assert time.monotonic() < deadline, "the started guests do not all run"
        time.sleep(0.05)
    summary = report.summary("bulk-1", "alice")
    assert summary.status == "error" and summary.progress == 1.0
    assert summary.user == "root@pam"  # as its items' tasks, not the actor "alice"
    assert summary.result == {"done": len(guests) - 1, "failed": 1, "skipped": 0}
    records = [r for r in audit.read() if r.operation == "start"]
    assert len(records) == len(guests)
    # The summary task is audited as every task: its start, then its end with the
    # failure, as `vmconsole audit` prints them.
    shown = [format_record(r) for r in audit.read() if r.target == "bulk"]
    assert len(shown) == 2
    assert shown[0].endswith("lab/bulk  bulk start guests=10 skipped=0: started task bulk-1")
    assert f"lab/bulk  bulk start guests=10 skipped=0: error: 1 of 10 failed: {guests[4].name}" \
        in shown[1] and shown[1].endswith("task bulk-1")


def test_once_the_console_closes_nothing_more_starts_and_no_task_is_waited_for(tmp_path):
    backend = SimBackend(SimCluster(guests=12), clock=RealClock(time_scale=1.0))
    guests = [g for g in backend.inventory().guests if not g.template]
    audit = AuditLog(tmp_path / "audit.jsonl")
    operations = Operations(Actor("alice", Role.OPERATOR), audit, lambda _c: backend)
    plan = BulkPlan("lab", "snapshot", "Snapshot", tuple(
        BulkItem(OpRequest("lab", g.id, "snapshot", f"Snapshot {g.name}"),
                 lambda b, gid=g.id: b.snapshot_create(gid, "before", "", False), g.name,
                 "snapshot", g.node) for g in guests))
    closing = threading.Event()

    def progress(report: BulkReport, task) -> None:
        if task is not None:  # the first task has started: the user quits
            closing.set()

    started = time.monotonic()
    report = run_bulk(operations, plan, progress, cap=1, poll_s=0.05, cancel=closing)
    assert time.monotonic() - started < 5  # not a wait for every guest's snapshot
    first = report.ends[0].error  # its snapshot may end before the wait looks
    assert first == "" or first.startswith("not waited for: the console closed")
    assert {e.error for e in report.ends[1:]} == {CANCELLED}
    assert len([r for r in audit.read() if r.operation == "snapshot"]) == 1


def test_the_summary_task_of_one_guest_says_1_guest_not_1_guests():
    one = BulkPlan("lab", "start", "Start 1 guest", (
        BulkItem(OpRequest("lab", "qemu/100", "start", "Start web1"), lambda b: None,
                 "web1", "start", "pve1"),))
    two = BulkPlan("lab", "start", "Start 2 guests", one.items * 2)
    assert BulkReport(one, 0.0).summary("bulk-1", "alice").target == "1 guest"
    assert BulkReport(two, 0.0).summary("bulk-2", "alice").target == "2 guests"
