"""The audit log: one JSON line per operation, from any console, flushed and fsynced
before the operation's result is shown, so a crash never loses a line a user saw
confirmed.

Default path: `$XDG_STATE_HOME/vmconsole/audit.jsonl` (`~/.local/state/...`);
`VMCONSOLE_AUDIT_LOG` overrides it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

from vmconsole.paths import state_dir
from vmconsole.text import visible
from vmconsole.textfile import open_regular

SECRET_WORDS = ("password", "secret", "token", "key")
SHOWN_LINES = 5  # line numbers named where lines that are not records are said
# Levels of arrays and objects in a record's parameters: an operation's are flat (a size,
# a node, a flag). A line nested deeper is not a record the console wrote, and one near
# json's own limit (about 1,000 levels) would be shown by str(), which recurses as deep,
# from further down the stack than json read it (a screen's worker, not the CLI).
PARAMETER_DEPTH = 8


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One line of the audit log: who (`user`, `role`, `source`) asked what (`operation`
    on `target` of `cluster`, with `parameters`) and what came of it; `time` in epoch
    seconds."""

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
    return state_dir() / "audit.jsonl"


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
        import json  # loaded when used: the first screen writes no record (issue 12)

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

    def unwritable(self) -> str:
        """Why a record could not be appended now ("" when it could): the log opened for
        appending, as `append` opens it, and closed, nothing written."""
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
            except OSError as exc:
                return f"the audit log cannot be written: {exc}"
        return ""

    def read(self) -> Iterator[AuditRecord]:
        """Every record so far, oldest first (a torn last line is skipped). OSError for
        a file that cannot be read or is not a regular one."""
        try:
            handle = open_regular(self.path)
        except FileNotFoundError:
            return
        with handle:
            for _, data in _lines(handle):
                record = _parse(data.decode("utf-8", "replace")) if data else None
                if record is not None:
                    yield record

    def read_chunk(self, offset: int = 0, line: int = 0) -> AuditChunk:
        """The records of the lines completed after byte `offset` (a line still being
        written waits for the next call), numbered: `line` is the number of lines before
        `offset` (0 at the start), and the chunk says which lines were not records
        (blank lines are not counted; a line of more than LINE_LIMIT bytes is one) and
        the offset and line to pass next time. A file shorter than `offset` was
        replaced: it is read from its start. A missing file is an empty chunk; OSError
        for a file that cannot be read (a directory, no permission) or is not a
        regular one (/dev/zero would be read for ever)."""
        try:
            handle = open_regular(self.path)
        except FileNotFoundError:
            return AuditChunk([], 0, 0, [])
        records: list[AuditRecord] = []
        skipped: list[int] = []
        with handle:
            if handle.seek(0, os.SEEK_END) < offset:
                offset, line = 0, 0
            handle.seek(offset)
            for size, data in _lines(handle):
                offset, line = offset + size, line + 1
                text = data.decode("utf-8", "replace") if data is not None else None
                record = _parse(text) if text is not None else None
                if record is not None:
                    records.append(record)
                elif text is None or text.strip():
                    skipped.append(line)
        return AuditChunk(records, offset, line, skipped)


# The most bytes of one line the readers hold: a record is a few hundred; a longer line
# (a file that is not the log, a runaway write) is a line that is not a record.
LINE_LIMIT = 64 * 1024


def _lines(handle: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """The complete lines from `handle`'s position, one at a time, as (their size in
    bytes, their text without the line end), the text None for a line longer than
    LINE_LIMIT, which is read past and never held whole. Ends at the end of the file
    or at a line still being written (no line end yet)."""
    while True:
        data = handle.readline(LINE_LIMIT + 1)
        if data.endswith(b"\n"):
            yield len(data), data[:-1]
            continue
        if len(data) <= LINE_LIMIT:
            return  # the end, or a torn last line: read again next time
        size = len(data)
        while not data.endswith(b"\n"):
            data = handle.readline(LINE_LIMIT)
            if not data:
                return  # a long line still being written
            size += len(data)
        yield size, None


@dataclass(frozen=True, slots=True)
class AuditChunk:
    """What one read of the log found: its records, the byte offset and line count to
    pass to the next read, and the 1-based numbers of the lines that are not records."""

    records: list[AuditRecord]
    offset: int
    line: int
    skipped: list[int]


def skipped_text(lines: list[int], place: str) -> str:
    """The lines of the log that are not records (torn, edited by hand) in words: how
    many, and the numbers of the first `SHOWN_LINES`; `place` names the log ("the log",
    or its path made visible)."""
    shown = ", ".join(str(n) for n in lines[:SHOWN_LINES])
    more = ", ..." if len(lines) > SHOWN_LINES else ""
    if len(lines) == 1:
        return f"1 line of {place} is not an audit record and was skipped (line {shown})"
    return (f"{len(lines)} lines of {place} are not audit records and were skipped "
            f"(lines {shown}{more})")


_TEXT_FIELDS = ("user", "role", "source", "cluster", "target", "operation", "result")


def _parse(line: str) -> AuditRecord | None:
    """The record on one line, or None for a line that is not one (torn, or edited by
    hand): a malformed line hides only itself, never the records after it."""
    from vmconsole.jsontext import parse_json  # loaded when used, as in AuditLog.append

    try:
        data = parse_json(line)
        record = AuditRecord(**data)
    except (ValueError, TypeError):
        return None
    well_formed = (all(isinstance(getattr(record, f), str) for f in _TEXT_FIELDS)
                   and isinstance(record.parameters, dict)
                   and _nested_within(record.parameters, PARAMETER_DEPTH)
                   and (record.task_id is None or isinstance(record.task_id, str))
                   and isinstance(record.time, int | float)
                   and not isinstance(record.time, bool)
                   and _showable(record.time))
    return record if well_formed else None


def _nested_within(value: object, depth: int) -> bool:
    """Are the lists and dicts of `value` (read from JSON) nested at most `depth` deep,
    `value` itself the first level? Walked without recursion, as the value may not be."""
    level: list[object] = [value]
    for _ in range(depth):
        level = [item for container in level
                 for item in (container.values() if isinstance(container, dict)
                              else container if isinstance(container, list) else ())]
        if not level:
            return True
    return not any(isinstance(item, dict | list) for item in level)


def _showable(seconds: float) -> bool:
    """Can both readers show this time? They name it with `time.localtime`, which
    raises OverflowError past the platform's time_t (NaN and infinity included) and
    OSError past the C library's year range (EOVERFLOW beyond about 3e16 s on glibc): a
    time it cannot show is not one a record was written at."""
    try:
        time.localtime(seconds)
    except (OverflowError, OSError, ValueError):
        return False
    return True


def matches(record: AuditRecord, user: str | None = None, target: str | None = None) -> bool:
    """Does a record belong to this user and this target? A user matches by any part of
    the name, case-sensitively (`ali` finds `alice` and `malice`, not `Alice`), so a long
    name, or one full of escapes a terminal cannot type, is found by a part of it. A
    target matches by its full id (`qemu/100`), by the part after the kind (`100`), or as
    `vmconsole audit` prints it, after its cluster (`lab/qemu/100`, escapes and all)."""
    if user and user not in record.user:
        return False
    return not target or target in (
        record.target, record.target.rpartition("/")[2], f"{record.cluster}/{record.target}",
        shown_target(record))


def shown_target(record: AuditRecord) -> str:
    """What a record is about, as `vmconsole audit` prints it: `CLUSTER/TARGET`, each
    made visible (escapes for controls, cut at `text.NAME_LIMIT` characters)."""
    return f"{visible(record.cluster)}/{visible(record.target)}"
