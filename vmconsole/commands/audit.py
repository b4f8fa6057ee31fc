"""`vmconsole audit`: print the audit log, optionally following it as it grows."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from vmconsole.audit import (
    AuditChunk,
    AuditLog,
    AuditRecord,
    default_audit_path,
    matches,
    shown_target,
    skipped_text,
)
from vmconsole.stdout import print_line
from vmconsole.text import visible
from vmconsole.wallclock import date_time

FOLLOW_INTERVAL = 0.5  # seconds between looks at the file with --follow


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("audit", help="print the audit log of operations")
    parser.add_argument("--follow", "-f", action="store_true",
                        help="keep printing new records as they are written (Ctrl+C ends)")
    parser.add_argument("--user", metavar="USER", help="only the records of users whose "
                        "name holds USER (case-sensitive: ali finds alice and malice, not "
                        "Alice)")
    parser.add_argument("--target", metavar="ID", help="only records about this object "
                        "(a full id such as qemu/100, just 100, or as printed after its "
                        "cluster: lab/qemu/100)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--log", metavar="PATH", help="the audit log (default "
                        "$VMCONSOLE_AUDIT_LOG or $XDG_STATE_HOME/vmconsole/audit.jsonl)")
    parser.set_defaults(func=run)


def format_record(record: AuditRecord) -> str:
    """One line for people: when, who, where from, what, on what, and how it went.

    Every field is made visible (`vmconsole.text.visible`: controls, escapes, bidi and
    zero-width characters as escapes, long values cut), so a record can neither erase
    itself from the terminal nor print a forged line in its place."""
    when = date_time(record.time)
    parameters = " ".join(f"{visible(k)}={visible(v)}"
                          for k, v in sorted(record.parameters.items()))
    task = f" task {visible(record.task_id)}" if record.task_id else ""
    role = visible(record.role) if record.role else "no role"  # refused before one
    return (f"{when}  {visible(record.user)} ({role}, "
            f"{visible(record.source)})  {shown_target(record)}  "
            f"{visible(record.operation)}{' ' + parameters if parameters else ''}: "
            f"{visible(record.result, limit=None)}{task}")


def run(args: argparse.Namespace) -> int:
    log = AuditLog(Path(args.log).expanduser() if args.log else default_audit_path())
    where = visible(log.path, limit=None)
    if log.path.is_dir():
        print(f"vmconsole audit: {where} is a directory, not an audit log (--log or "
              "VMCONSOLE_AUDIT_LOG names the file)", file=sys.stderr)
        return 2
    if not args.follow and not log.path.exists():
        print(f"vmconsole audit: no audit log yet at {where}", file=sys.stderr)
        return 0

    def show(chunk: AuditChunk) -> None:
        for record in chunk.records:
            if matches(record, args.user, args.target):
                line = json.dumps(asdict(record), sort_keys=True) if args.json else (
                    format_record(record))
                print_line(line)
        if chunk.skipped:
            print(f"vmconsole audit: {skipped_text(chunk.skipped, where)}", file=sys.stderr,
                  flush=True)

    try:
        chunk = log.read_chunk()
        show(chunk)
        while args.follow:
            time.sleep(FOLLOW_INTERVAL)
            chunk = log.read_chunk(chunk.offset, chunk.line)
            show(chunk)
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        raise  # the reader left (`audit | head`), not a log that cannot be read
    except OSError as exc:
        print(f"vmconsole audit: cannot read {where}: {visible(exc.strerror or exc)}",
              file=sys.stderr)
        return 2
    return 0
