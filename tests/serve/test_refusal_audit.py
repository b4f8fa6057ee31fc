"""Every refusal is audited, and so is the end of every task an operation started."""

from __future__ import annotations

import asyncio
import time

import asyncssh
import pytest

from tests.serve.conftest import Running
from tests.serve.terminal import open_terminal
from tests.serve.test_roles import on_row
from vmconsole.audit import AuditRecord

pytestmark = pytest.mark.timeout(60)


async def records_until(served: Running, count: int, timeout: float = 15.0) -> list[AuditRecord]:
    deadline = time.monotonic() + timeout
    while len(records := list(served.server.settings.audit.read())) < count:
        assert time.monotonic() < deadline, f"{count} audit records expected, got {records}"
        await asyncio.sleep(0.1)
    return records


async def test_starting_a_running_guest_is_refused_and_audited(served: Running) -> None:
    async with await served.connect("operator", username="sam") as conn:
        term = await open_terminal(conn, 120, 30)
        await on_row(term, "web1", 2)
        term.press("s")
        await term.wait_until(lambda t: "web1 is running already" in t.notifications,
                              what="the refusal")
    [record] = await records_until(served, 1)
    assert (record.user, record.operation, record.target) == ("sam", "start", "qemu/100")
    assert record.result == "refused: web1 is running already"


async def test_the_end_of_a_task_is_audited_after_its_start(served: Running) -> None:
    async with await served.connect("operator", username="sam") as conn:
        term = await open_terminal(conn, 120, 30)
        await on_row(term, "web1", 2)
        term.press("S")
        await term.wait_for("0 snapshots")
        term.press("n")
        await term.wait_for("Take snapshot")
        term.press("before\r")
        await term.wait_until(lambda t: ": started" in t.notifications, what="the task")
    # The session is gone; the poll loop still sees the task end and audits it.
    started, ended = await records_until(served, 2)
    assert started.result == "started" and started.task_id
    assert (ended.operation, ended.target, ended.task_id, ended.user) == (
        "snapshot", "qemu/100", started.task_id, "sam")
    assert ended.result == "ok" and ended.time >= started.time


async def test_a_refused_login_is_audited_with_its_reason(served: Running) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await served.connect(username="mallory", key=served.keys.stranger)
    [record] = await records_until(served, 1)
    assert (record.user, record.operation) == ("mallory", "login")
    assert record.result.startswith("refused: SHA256:")
    assert record.result.endswith(": unknown key")
    assert record.source.startswith("ssh:127.0.0.1:")


@pytest.mark.parametrize("name", ["eve\x1b[2J", "eve\u202elive"])
async def test_a_login_name_ssh_prohibits_is_refused_in_the_log_and_audit(
        served: Running, name: str, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # asyncssh's client refuses to send such a name: its check turns "eve" into it
    real = asyncssh.connection.saslprep
    monkeypatch.setattr(asyncssh.connection, "saslprep",
                        lambda text: name if text == "eve" else real(text))
    caplog.set_level("INFO", logger="vmconsole")
    with pytest.raises(asyncssh.DisconnectError):
        await served.connect(username="eve")
    [record] = await records_until(served, 1)
    shown = "'\\x1b'" if "\x1b" in name else "'\\u202e'"
    assert record.result == f"refused: user name: not allowed in SSH: Prohibited character: {shown}"
    assert record.source.startswith("ssh:127.0.0.1:")
    [line] = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert line.endswith(": login of a user name SSH prohibits refused: user name: not "
                         f"allowed in SSH: Prohibited character: {shown}")
    assert "\x1b" not in line and "\u202e" not in line
