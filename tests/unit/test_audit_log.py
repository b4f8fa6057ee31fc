"""The audit log reader: a malformed line hides only itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from vmconsole.audit import AuditLog, AuditRecord

ROOT = Path(__file__).resolve().parents[2]


def _record(user: str) -> AuditRecord:
    return AuditRecord(user=user, role="operator", source="local", cluster="lab",
                       target="qemu/100", operation="start", result="started", time=1.0e9)


def test_a_malformed_record_hides_only_itself(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append(_record("alice"))
    with log.path.open("ab") as handle:
        broken = {"user": "mallory", "role": "operator", "source": "local", "cluster": "lab",
                  "target": "qemu/100", "operation": "start", "result": "started",
                  "time": "yesterday"}
        handle.write(json.dumps(broken).encode() + b"\n")
        handle.write(b'{"user": ["not", "text"]}\n')
        handle.write(b"\xff\xfe not UTF-8\n")
    log.append(_record("bob"))
    assert [r.user for r in log.read()] == ["alice", "bob"]
    assert [r.user for r in log.read_chunk().records] == ["alice", "bob"]

    shown = subprocess.run([sys.executable, "-m", "vmconsole", "audit", "--log",
                            str(log.path)], cwd=ROOT, capture_output=True, text=True,
                           timeout=60, check=False)
    assert shown.returncode == 0, shown.stderr
    assert "alice" in shown.stdout and "bob" in shown.stdout
    assert "mallory" not in shown.stdout and "Traceback" not in shown.stderr


def audit_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vmconsole", "audit", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False, env=env)


def test_skipped_lines_are_counted_on_stderr_and_the_records_printed_as_before(
        tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append(_record("alice"))
    clean = audit_cli("--log", str(log.path))
    with log.path.open("ab") as handle:
        for junk in (b"not json\n", b"\n", b'{"user": ["not", "text"]}\n', b"\xff\xfe\n"):
            handle.write(junk)
    log.append(_record("bob"))
    with log.path.open("ab") as handle:
        handle.write(b"[1, 2]\n")
    shown = audit_cli("--log", str(log.path))
    assert shown.returncode == 0
    lines = shown.stdout.splitlines()
    assert lines[0] == clean.stdout.splitlines()[0] and "bob" in lines[1] and len(lines) == 2
    assert shown.stderr == (f"vmconsole audit: 4 lines of {log.path} are not audit "
                            "records and were skipped (lines 2, 4, 5, 7)\n")
    assert clean.stderr == ""


def test_a_time_no_reader_can_show_is_a_line_skipped_not_a_failure(tmp_path: Path) -> None:
    """A tester's finding: a record whose time was past what `time.localtime` takes
    ended `vmconsole audit` with a traceback (or "cannot read ...") and hid the records
    after it."""
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append(_record("alice"))
    with log.path.open("ab") as handle:
        for when in ("1e300", "1e19", "1e17", "-1e17"):  # JSON numbers, finite floats
            line = json.dumps(asdict(_record("mallory"))).replace("1000000000.0", when)
            handle.write(line.encode() + b"\n")
    log.append(_record("bob"))
    shown = audit_cli("--log", str(log.path))
    assert shown.returncode == 0, shown.stderr
    assert [line.split()[2] for line in shown.stdout.splitlines()] == ["alice", "bob"]
    assert shown.stderr == (f"vmconsole audit: 4 lines of {log.path} are not audit "
                            "records and were skipped (lines 2, 3, 4, 5)\n")


def test_a_directory_as_the_log_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for shown in (audit_cli("--log", str(tmp_path)),
                  audit_cli(env={**os.environ, "VMCONSOLE_AUDIT_LOG": str(tmp_path)})):
        assert shown.returncode == 2, shown.stderr
        assert shown.stderr == (f"vmconsole audit: {tmp_path} is a directory, not an audit "
                                "log (--log or VMCONSOLE_AUDIT_LOG names the file)\n")
        assert shown.stdout == ""


def test_a_login_refused_before_it_had_a_role_reads_no_role() -> None:
    """A key refused at login has no role yet: "bad (no role, ssh:...)", not "bad (, ...".
    """
    from dataclasses import replace

    from vmconsole.commands.audit import format_record

    refused = replace(_record("bad"), role="", source="ssh:127.0.0.1:5000",
                      operation="login", result="refused: unknown key")
    assert "bad (no role, ssh:127.0.0.1:5000)" in format_record(refused)
    assert "sam (operator, local)" in format_record(_record("sam"))


def write_nested_lines(log: AuditLog) -> None:
    """Alice's record, a line of 100,000 `[` (json's recursion gave up), a record whose
    parameters nest 900 deep (json read it; showing it recursed as deep), then Bob's and
    Carol's records."""
    log.append(_record("alice"))
    deep = asdict(_record("mallory"))
    deep["parameters"] = {"disks": json.loads("[" * 900 + "]" * 900)}
    with log.path.open("ab") as handle:
        handle.write(b"[" * 100_000 + b"\n")
        handle.write(json.dumps(deep).encode() + b"\n")
    log.append(_record("bob"))
    log.append(_record("carol"))


def test_a_line_nested_too_deeply_is_a_line_skipped_not_a_failure(tmp_path: Path) -> None:
    """A tester's finding: one line of 100,000 nested `[` ended `vmconsole audit` with a
    RecursionError, exit 1, and none of the valid records printed."""
    log = AuditLog(tmp_path / "audit.jsonl")
    write_nested_lines(log)
    shown = audit_cli("--log", str(log.path))
    assert shown.returncode == 0, shown.stderr
    assert [line.split()[2] for line in shown.stdout.splitlines()] == ["alice", "bob", "carol"]
    assert shown.stderr == (f"vmconsole audit: 2 lines of {log.path} are not audit "
                            "records and were skipped (lines 2, 3)\n")
