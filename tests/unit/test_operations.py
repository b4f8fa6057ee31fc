"""The change path without a console: role, read-only mode and the audit record, on the
simulator's real backend (vmconsole.operations.Operations)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmconsole.actor import Actor, Role
from vmconsole.audit import AuditLog, AuditRecord
from vmconsole.backends.base import Backend, BackendError, InvalidInput
from vmconsole.backends.sim.backend import SimBackend
from vmconsole.backends.sim.clock import ManualClock
from vmconsole.config import SimCluster
from vmconsole.model import GuestStatus
from vmconsole.operations import (
    READ_ONLY_REFUSAL,
    VIEWER_REFUSAL,
    Operations,
    OpRequest,
)

STOPPED = "qemu/103"  # the classic lab's stopped guest


@pytest.fixture
def backend() -> SimBackend:
    return SimBackend(SimCluster(), clock=ManualClock())


def service(backend: SimBackend, tmp_path: Path, role: Role = Role.OPERATOR,
            read_only: bool = False) -> tuple[Operations, AuditLog, list[AuditRecord]]:
    audit = AuditLog(tmp_path / "audit.jsonl")
    watched: list[AuditRecord] = []

    def backend_of(cluster: str) -> Backend:
        if cluster != backend.name:
            raise BackendError(f"no cluster named {cluster}")
        return backend

    ops = Operations(Actor("alice", role, "ssh:192.0.2.7:50000"), audit, backend_of,
                     read_only, lambda cluster, record: watched.append(record))
    return ops, audit, watched


def start(backend: SimBackend, needs: Role = Role.OPERATOR) -> OpRequest:
    return OpRequest(backend.name, STOPPED, "start", "Start db1", {"why": "test"}, needs)


def status(backend: SimBackend, guest_id: str) -> GuestStatus:
    guest = backend.inventory().guest(guest_id)
    assert guest is not None
    return guest.status


def test_an_operator_starts_a_guest_and_the_start_is_audited_and_watched(backend, tmp_path):
    ops, audit, watched = service(backend, tmp_path)
    outcome = ops.perform(start(backend), lambda b: b.start(STOPPED))
    assert outcome.ok and outcome.task is not None and not outcome.refused
    [record] = list(audit.read())
    assert (record.user, record.role, record.source, record.target, record.operation,
            record.result, record.task_id, record.parameters) == (
        "alice", "operator", "ssh:192.0.2.7:50000", STOPPED, "start", "started",
        outcome.task.id, {"why": "test"})
    assert watched == [record]  # its end is audited when a poll sees the task done
    assert outcome.task.id in {t.id for t in backend.tasks()}


def test_a_viewer_is_refused_before_the_backend_is_called(backend, tmp_path):
    ops, audit, watched = service(backend, tmp_path, Role.VIEWER)
    called: list[str] = []
    outcome = ops.perform(start(backend), lambda b: called.append("start") or b.start(STOPPED))
    assert (outcome.refused, outcome.ok, outcome.message) == (True, False, VIEWER_REFUSAL)
    assert called == [] and status(backend, STOPPED) is GuestStatus.STOPPED
    [record] = list(audit.read())
    assert record.result == f"refused: {VIEWER_REFUSAL}" and watched == []


def test_an_operator_is_refused_what_needs_an_admin(backend, tmp_path):
    ops, audit, _ = service(backend, tmp_path, Role.OPERATOR)
    request = OpRequest(backend.name, "clock", "time_scale", "Teaching", {"scale": 0.0},
                        Role.ADMIN)
    outcome = ops.perform(request, lambda b: "paused")
    assert outcome.message == "time scale needs the admin role; you are operator"
    # an audit word that reads badly is said as the user knows the change (a tester's)
    rule = OpRequest(backend.name, "ha-rules", "ha_node_affinity_set", "New node-affinity "
                     "rule", {}, Role.ADMIN)
    assert ops.perform(rule, lambda b: "saved").message == (
        "saving a node-affinity rule needs the admin role; you are operator")
    assert [r.result for r in audit.read()] == [
        f"refused: {outcome.message}",
        "refused: saving a node-affinity rule needs the admin role; you are operator"]
    assert not ops.allowed(Role.ADMIN) and ops.allowed(Role.OPERATOR)


@pytest.mark.parametrize("role", list(Role))
def test_a_read_only_console_refuses_every_role(backend, tmp_path, role):
    ops, audit, _ = service(backend, tmp_path, role, read_only=True)
    outcome = ops.perform(start(backend, Role.VIEWER), lambda b: b.start(STOPPED))
    assert outcome.refused and outcome.message == READ_ONLY_REFUSAL
    assert status(backend, STOPPED) is GuestStatus.STOPPED and backend.tasks() == []
    assert [r.result for r in audit.read()] == [f"refused: {READ_ONLY_REFUSAL}"]
    assert not ops.allowed(Role.VIEWER)


def test_the_backends_refusal_is_its_message_and_an_error_record(backend, tmp_path):
    ops, audit, watched = service(backend, tmp_path)
    outcome = ops.perform(start(backend), lambda b: b.start("qemu/999"))  # no such guest
    assert not outcome.ok and not outcome.refused and outcome.message
    assert [r.result for r in audit.read()] == [f"error: {outcome.message}"]
    assert watched == []


def test_a_forms_field_reasons_come_back(backend, tmp_path):
    ops, _, _ = service(backend, tmp_path)

    def bad_name(_: Backend) -> str:
        raise InvalidInput("the name is taken", {"name": "web1 exists"})

    outcome = ops.perform(start(backend), bad_name)
    assert (outcome.message, outcome.fields) == ("the name is taken", {"name": "web1 exists"})


def test_a_backend_bug_is_an_error_not_a_crash(backend, tmp_path):
    ops, audit, _ = service(backend, tmp_path)

    def bug(_: Backend) -> str:
        raise KeyError("vmid")

    outcome = ops.perform(start(backend), bug)
    assert outcome.message == "internal error in the backend: 'vmid'"
    assert [r.result for r in audit.read()] == ["error: internal error in the backend: 'vmid'"]


def test_a_change_made_at_once_is_audited_done(backend, tmp_path):
    ops, audit, watched = service(backend, tmp_path, Role.ADMIN)
    request = OpRequest(backend.name, "clock", "time_scale", "Teaching", {"scale": 10.0},
                        Role.ADMIN)

    def faster(b: Backend) -> str:
        assert isinstance(b, SimBackend)
        b.set_time_scale(10.0)
        return "x10"

    outcome = ops.perform(request, faster)
    assert (outcome.ok, outcome.done, backend.time_scale) == (True, "x10", 10.0)
    assert [(r.result, r.task_id) for r in audit.read()] == [("done", None)]
    assert watched == []


def test_a_record_lost_after_the_change_is_said_and_the_change_stands(
        backend, tmp_path, monkeypatch):
    ops, audit, _ = service(backend, tmp_path)

    def full(_record):  # the disk filled up between the check and the record
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(audit, "append", full)
    outcome = ops.perform(start(backend), lambda b: b.start(STOPPED))
    assert outcome.task is not None
    assert outcome.audit_error.startswith("the audit log could not be written: ")
    assert outcome.task.id in {t.id for t in backend.tasks()}


def test_an_unknown_cluster_is_an_error(backend, tmp_path):
    ops, _, _ = service(backend, tmp_path)
    request = OpRequest("elsewhere", STOPPED, "start", "Start db1")
    assert ops.perform(request, lambda b: b.start(STOPPED)).message == \
        "no cluster named elsewhere"


def test_roles_include_those_below():
    assert Role.ADMIN.allows(Role.OPERATOR) and Role.ADMIN.allows(Role.VIEWER)
    assert Role.OPERATOR.allows(Role.OPERATOR) and not Role.OPERATOR.allows(Role.ADMIN)
    assert not Role.VIEWER.allows(Role.OPERATOR)


def test_no_change_is_made_that_the_audit_log_could_not_record(backend, tmp_path):
    # A tester's state directory was a file: the guest started, and the toast said the
    # record was not written. The change is refused before the backend is called.
    (tmp_path / "state").write_text("a file, not a directory")
    audit = AuditLog(tmp_path / "state" / "audit.jsonl")
    ops = Operations(Actor("alice", Role.OPERATOR, "local"), audit, lambda _c: backend)
    outcome = ops.perform(start(backend), lambda b: b.start(STOPPED))
    assert outcome.refused and outcome.task is None
    assert outcome.message.startswith("not done: the audit log cannot be written: ")
    assert status(backend, STOPPED) is GuestStatus.STOPPED
