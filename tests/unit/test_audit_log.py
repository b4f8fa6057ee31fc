"""The audit log reader: a malformed line hides only itself."""

from __future__ import annotations

import json
import subprocess
import sys
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
    assert [r.user for r in log.read_new(0)[0]] == ["alice", "bob"]

    shown = subprocess.run([sys.executable, "-m", "vmconsole", "audit", "--log",
                            str(log.path)], cwd=ROOT, capture_output=True, text=True,
                           timeout=60, check=False)
    assert shown.returncode == 0, shown.stderr
    assert "alice" in shown.stdout and "bob" in shown.stdout
    assert "mallory" not in shown.stdout and "Traceback" not in shown.stderr
