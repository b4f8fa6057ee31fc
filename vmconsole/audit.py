"""The audit log: one JSON line per operation, from any console, flushed and fsynced
before the operation's result is shown, so a crash never loses a line a user saw
confirmed.

Default path: `$XDG_STATE_HOME/vmconsole/audit.jsonl` (`~/.local/state/...`);
`VMCONSOLE_AUDIT_LOG` overrides it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

SECRET_WORDS = ("password", "secret", "token", "key")


@dataclass(frozen=True, slots=True)
class AuditRecord:
    user: str
    role: str
    source: str  # "local" or "ssh:ADDRESS:PORT"
    cluster: str
    target: str
    operation: str
    result: str  # "started", "refused: ...", "error: ..."
    parameters: dict[str, object] = field(default_factory=dict)
    task_id: str | None = None
    time: float = field(default_factory=time.time)


def default_audit_path() -> Path:
    if env := os.environ.get("VMCONSOLE_AUDIT_LOG"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(base) / "vmconsole" / "audit.jsonl"


def _without_secrets(parameters: dict[str, object]) -> dict[str, object]:
    return {k: ("***" if any(w in k.lower() for w in SECRET_WORDS) else v)
            for k, v in parameters.items()}


class AuditLog:
    """Appends records durably; safe to share between threads and sessions."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_audit_path()
        self._lock = threading.Lock()

    def append(self, record: AuditRecord) -> None:
        """Write and fsync one line; returns only once it is on disk."""
        data = asdict(record)
        data["parameters"] = _without_secrets(record.parameters)
        line = json.dumps(data, default=str, sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)

    def read(self) -> Iterator[AuditRecord]:
        """Every record so far, oldest first (a torn last line is skipped)."""
        try:
            handle = self.path.open(encoding="utf-8")
        except FileNotFoundError:
            return
        with handle:
            for line in handle:
                try:
                    yield AuditRecord(**json.loads(line))
                except (json.JSONDecodeError, TypeError):
                    continue
