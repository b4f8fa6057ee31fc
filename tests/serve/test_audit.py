"""The audit log as people read it: `vmconsole audit` and the console's audit screen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serve.conftest import Running
from tests.serve.terminal import open_terminal
from vmconsole import audit
from vmconsole.audit import AuditLog, AuditRecord
from vmconsole.cli import main

pytestmark = pytest.mark.timeout(60)


def record(user: str, target: str, operation: str, result: str = "started",
           **parameters: object) -> AuditRecord:
    return AuditRecord(user=user, role="operator", source="ssh:127.0.0.1:40000",
                       cluster="lab", target=target, operation=operation, result=result,
                       parameters=dict(parameters), task_id="t1" if result == "started"
                       else None)


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append(record("alice", "qemu/100", "migrate", node="pve2"))
    log.append(record("bob", "qemu/101", "snapshot", name="before", password="hunter2"))
    log.append(record("alice", "lxc/200", "migrate", "refused: your role is viewer"))
    return log


def test_audit_prints_every_record(log: AuditLog, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--log", str(log.path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert "alice (operator, ssh:127.0.0.1:40000)  lab/qemu/100  migrate node=pve2: " \
           "started task t1" in lines[0]
    assert "password=***" in lines[1] and "hunter2" not in lines[1]
    assert lines[2].endswith("refused: your role is viewer")


def test_audit_filters_by_user_and_target(log: AuditLog,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    main(["audit", "--log", str(log.path), "--user", "alice"])
    assert [line.split("  ")[2] for line in capsys.readouterr().out.splitlines()] == [
        "lab/qemu/100", "lab/lxc/200"]
    main(["audit", "--log", str(log.path), "--target", "101", "--json"])
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["user"] == "bob"
    main(["audit", "--log", str(log.path), "--user", "alice", "--target", "qemu/101"])
    assert capsys.readouterr().out == ""


def test_audit_finds_a_target_as_it_prints_it(log: AuditLog,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A tester's finding: `vmconsole audit` printed `lab/qemu/100`, and `--target
    lab/qemu/100` found nothing."""
    hostile = AuditRecord(user="carol", role="operator", source="ssh:127.0.0.1:40000",
                          cluster="lab\x1b]0;x\x07", target="qemu/100", operation="stop",
                          result="done")
    log.append(hostile)
    main(["audit", "--log", str(log.path), "--target", "lab/qemu/100"])
    (line,) = capsys.readouterr().out.splitlines()
    assert "alice" in line and "  lab/qemu/100  migrate" in line
    printed = "lab\\x1b]0;x\\x07/qemu/100"  # what a user copies from the terminal
    main(["audit", "--log", str(log.path), "--target", printed])
    (line,) = capsys.readouterr().out.splitlines()
    assert f"  {printed}  stop: done" in line
    main(["audit", "--log", str(log.path), "--target", "qemu/100"])  # as before, both
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_audit_finds_a_user_by_part_of_the_name(log: AuditLog,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    hostile = "mallory\x1b]0;root\x07" + "x" * 300  # too long and untypeable to give whole
    log.append(record(hostile, "qemu/102", "stop"))
    main(["audit", "--log", str(log.path), "--user", "mallory"])
    (line,) = capsys.readouterr().out.splitlines()
    assert "lab/qemu/102  stop" in line and "\x1b" not in line
    main(["audit", "--log", str(log.path), "--user", "lic"])
    assert len(capsys.readouterr().out.splitlines()) == 2  # alice's two
    main(["audit", "--log", str(log.path), "--user", "Alice"])
    assert capsys.readouterr().out == ""  # case-sensitive, as the log's names are


def test_audit_follow_prints_records_as_they_are_written(log: AuditLog) -> None:
    log.append(record("carol", "qemu/101", "stop"))  # printed once the log is read
    process = subprocess.Popen(
        [sys.executable, "-m", "vmconsole", "audit", "--follow", "--user", "carol",
         "--log", str(log.path)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    try:
        assert process.stdout is not None
        # the reads below wait for their line; the test's timeout bounds them
        assert "lab/qemu/101  stop" in process.stdout.readline()  # now it follows
        log.append(record("bob", "qemu/100", "start"))
        log.append(record("carol", "qemu/102", "clone", name="web2"))
        line = process.stdout.readline()
        assert "carol (operator" in line and "clone name=web2" in line
    finally:
        process.terminate()
        process.wait(10)


def test_a_chunk_waits_for_a_whole_line_and_restarts_on_a_new_file(log: AuditLog) -> None:
    chunk = log.read_chunk(0)
    assert [r.user for r in chunk.records] == ["alice", "bob", "alice"]
    with log.path.open("a") as handle:
        handle.write('{"user": "torn"')  # a line still being written
    again = log.read_chunk(chunk.offset, chunk.line)
    assert (again.records, again.offset, again.line) == ([], chunk.offset, chunk.line)
    log.path.write_text("")
    log.append(record("dave", "qemu/100", "stop"))
    replaced = log.read_chunk(chunk.offset, chunk.line)
    assert [r.user for r in replaced.records] == ["dave"] and replaced.line == 1


async def test_audit_screen_in_the_console_filters_by_user(served: Running) -> None:
    log = served.server.settings.audit  # the one its consoles write
    async with await served.connect() as conn:
        term = await open_terminal(conn, 120, 30)
        await term.wait_for("pve1")
        term.press("a")
        await term.wait_for("0 of 0 records")
        for entry in (record("alice", "qemu/100", "migrate"),
                      record("bob", "qemu/101", "snapshot", name="before"),
                      record("alice", "lxc/200", "migrate", "refused: your role is viewer")):
            log.append(entry)
        await term.wait_for("3 of 3 records")
        assert "snapshot" in term.text and "lxc/200" in term.text
        term.press("/")
        await term.settle(0.3)
        term.press("bob")
        await term.wait_for("1 of 3 records")
        assert "snapshot" in term.text and "lxc/200" not in term.text
        log.append(record("bob", "qemu/103", "reboot"))
        await term.wait_for("2 of 4 records")
        assert "qemu/103" in term.text
        term.press("\x1b")  # out of the filter box, to the records
        await term.settle(0.3)
        assert "2 of 4 records" in term.text
        term.press("\x1b")
        await term.wait_until(lambda t: "records" not in t.text, what="the screen closed")


def test_audit_refuses_a_log_that_is_no_regular_file(tmp_path: Path) -> None:
    """A tester's finding: `audit --log /dev/zero` read for ever and ended in
    MemoryError; a link to it is the same."""
    (tmp_path / "link").symlink_to("/dev/zero")
    result = subprocess.run([sys.executable, "-m", "vmconsole", "audit", "--log",
                             str(tmp_path / "link")], capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (f"vmconsole audit: cannot read {tmp_path / 'link'}: not a "
                             "regular file\n")


def test_a_line_longer_than_the_limit_is_skipped_and_the_lines_after_it_read(
        log: AuditLog, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The readers hold at most LINE_LIMIT bytes of a line: a log that is one endless
    line (a file that is not the log) no longer ends in MemoryError. With the limit cut
    to 400 bytes, a record of twice that is such a line."""
    monkeypatch.setattr(audit, "LINE_LIMIT", 400)
    log.append(record("eve", "qemu/104", "snapshot", name="x" * 800))
    log.append(record("dave", "qemu/103", "stop"))
    assert main(["audit", "--log", str(log.path)]) == 0
    out, err = capsys.readouterr()
    users = [line.split("  ")[1].split(" (")[0] for line in out.splitlines()]
    assert users == ["alice", "bob", "alice", "dave"]
    assert "1 line of" in err and "(line 4)" in err
