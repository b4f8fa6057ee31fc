"""PVE tasks by UPID: followed in background threads until they stop.

A task's exit status `OK` is success, `WARNINGS: n` success with warnings, anything
else is the error text. Migration logs carry progress ("transferred 1.2 GiB of 4.0 GiB")
and QEMU's final pause ("... - downtime 52 ms"); both are read into the task.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any, Protocol

from vmconsole.backends.base import BackendError, Task, TaskStatus, Unreachable
from vmconsole.backends.proxmox.answers import NUMBER, TEXT, Record, Records, Value, ask, read

log = logging.getLogger(__name__)

# Worker types as PVE names them, and the operation the task log shows.
OPERATIONS = {
    "qmstart": "start", "vzstart": "start", "hastart": "start",
    "qmshutdown": "shutdown", "vzshutdown": "shutdown", "hashutdown": "shutdown",
    "qmstop": "stop", "vzstop": "stop", "hastop": "stop",
    "qmreboot": "reboot", "vzreboot": "reboot",
    "qmclone": "clone", "vzclone": "clone",
    "qmtemplate": "template", "vztemplate": "template",
    "qmsnapshot": "snapshot", "vzsnapshot": "snapshot",
    "qmdelsnapshot": "snapshot_delete", "vzdelsnapshot": "snapshot_delete",
    "qmrollback": "rollback", "vzrollback": "rollback",
    "qmigrate": "migrate", "vzmigrate": "migrate", "hamigrate": "migrate",
    "migrate": "migrate", "vzdump": "backup", "qmcreate": "create", "vzcreate": "create",
    "qmdestroy": "destroy", "vzdestroy": "destroy",
}
_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
          "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_TRANSFERRED = re.compile(
    r"transferred:? ([\d.]+) ?([KMGT]i?B|B) of ([\d.]+) ?([KMGT]i?B|B)")
_PERCENT = re.compile(r"\((\d+(?:\.\d+)?)%\)")
_DOWNTIME = re.compile(r"downtime:? (\d+(?:\.\d+)?) ?ms")
_LOG_PAGE = 500
_FOLLOW_MIN, _FOLLOW_MAX = 0.2, 2.0
# Consecutive failures to read a task (other than a node that does not answer) before
# the console stops following it.
_GIVE_UP_AFTER = 5
# A task's UPID, "UPID:node:pid:pstart:starttime:type:id:user:", as pve-common's
# PVE::Tools::upid_encode writes it and upid_decode reads it back (the same pattern):
# pid and starttime 8 hex digits, pstart 8 or 9, the node a host name. PVE's task API
# decodes the UPID in the path, so one that does not match is no task to follow.
_UPID = re.compile(r"UPID:(?P<node>[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):"
                   r"[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8,9}:(?P<starttime>[0-9A-Fa-f]{8}):"
                   r"(?P<type>[^:\s]+):(?P<id>[^:\s]*):(?P<user>[^:\s]+):")


def is_upid(value: Any) -> bool:
    """Whether `value` is a UPID string PVE's upid_decode takes."""
    return isinstance(value, str) and _UPID.fullmatch(value) is not None


# The answer of a call that starts a task (`ask_upid`), and of one older PVE may finish
# at once, answering null (`ask_upid_if_any`).
UPID = Value(is_upid, "a task's UPID")
UPID_IF_ANY = Value(is_upid, "a task's UPID", optional=True)
# The answers read here (`answers.read`): /cluster/tasks, a task's status and its log.
LISTING = Records({"upid": is_upid, "type": TEXT, "id": TEXT, "node": TEXT, "user": TEXT,
                   "status": TEXT, "starttime": NUMBER, "endtime": NUMBER})
STATUS = Record({"status": TEXT, "exitstatus": TEXT})
LOG = Records({"t": TEXT})


class Caller(Protocol):
    def __call__(self, method: str, path: str, **params: Any) -> Any: ...


def parse_upid(upid: str) -> dict[str, str]:
    """A UPID's node, starttime (epoch seconds, in decimal), type, id and user; {} for a
    string that is no UPID (`is_upid`), so that a bad one never raises."""
    match = _UPID.fullmatch(upid)
    if match is None:
        return {}
    return {"node": match["node"], "starttime": str(int(match["starttime"], 16)),
            "type": match["type"], "id": match["id"], "user": match["user"]}


def ask_upid(call: Caller, method: str, path: str, **params: Any) -> str:
    """`method path` through `call` (`Connection.call`), a call that starts a PVE task,
    and the task's UPID it answers. Raises the call's BackendError, or `answers.not_pve`'s
    for an answer that is no UPID ("POST /nodes/pve1/qemu/100/status/start: null where a
    task's UPID was expected")."""
    return ask(call, method, path, UPID, **params)


def ask_upid_if_any(call: Caller, method: str, path: str, **params: Any) -> str | None:
    """As `ask_upid`, for a call older PVE finishes before it answers, with null (a disk
    resize before PVE 8, a storage volume's removal before pve-storage made it a task):
    None then."""
    return ask(call, method, path, UPID_IF_ANY, **params)


def exit_status(text: str) -> tuple[TaskStatus, str | None]:
    if text == "OK":
        return TaskStatus.OK, None
    if text.startswith("WARNINGS"):
        return TaskStatus.WARNING, None
    return TaskStatus.ERROR, text


def progress_of(lines: Iterable[str]) -> tuple[float | None, float | None]:
    """The latest progress (0..1) and QEMU's reported downtime (ms) in a task log."""
    progress: float | None = None
    downtime: float | None = None
    for line in lines:
        if match := _TRANSFERRED.search(line):
            done = float(match[1]) * _UNITS[match[2]]
            total = float(match[3]) * _UNITS[match[4]]
            if total > 0:
                progress = min(1.0, done / total)
        elif match := _PERCENT.search(line):
            progress = min(1.0, float(match[1]) / 100)
        if match := _DOWNTIME.search(line):
            downtime = float(match[1])
    return progress, downtime


class TaskTracker:
    """Tasks this console started, followed until they stop, and the cluster's recent ones."""

    def __init__(self, call: Caller, target_of: Callable[[str, str], str],
                 on_finish: Callable[[Task], None] | None = None) -> None:
        self._call = call
        self._target_of = target_of  # (worker type, id) -> the guest id or node it acted on
        self._on_finish = on_finish  # told of each followed task once it ended
        self._tasks: dict[str, Task] = {}
        self._recent: list[Task] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, upid: str, operation: str, target: str,
              result: Mapping[str, object] | None = None) -> Task:
        """Record a task the console just started and follow it in a thread."""
        info = parse_upid(upid)
        task = Task(id=upid, operation=operation, target=target,
                    node=info.get("node", ""), user=info.get("user", ""),
                    started=float(info.get("starttime") or time.time()),
                    result=dict(result or {}))
        with self._lock:
            self._tasks[upid] = task
        thread = threading.Thread(target=self._follow, args=(upid,), daemon=True,
                                  name=f"pve-task-{info.get('type', 'task')}")
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return task

    def record(self, task: Task) -> None:
        """A task that needs no following: done by the time the API answered."""
        with self._lock:
            self._tasks[task.id] = task

    def get(self, upid: str) -> Task | None:
        with self._lock:
            return self._tasks.get(upid) or next((t for t in self._recent if t.id == upid), None)

    def wait(self, upid: str, timeout: float) -> Task | None:
        """The task once it stopped, or as it is after timeout seconds (tests, scripts)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task = self.get(upid)
            if task is not None and task.status.done:
                return task
            time.sleep(0.05)
        return self.get(upid)

    def tasks(self) -> list[Task]:
        """Ours and the cluster's recent tasks, oldest first; ours win on the same UPID."""
        try:
            listing = read(self._call, "/cluster/tasks", LISTING)
            recent = [self._from_listing(item) for item in listing if item.get("upid")]
            with self._lock:
                self._recent = recent
        except BackendError as exc:
            log.debug("recent tasks unavailable: %s", exc)
        with self._lock:
            merged = {t.id: t for t in self._recent}
            merged.update(self._tasks)
        return sorted(merged.values(), key=lambda t: (t.started, t.id))

    def close(self) -> None:
        self._closed.set()
        for thread in self._threads:
            thread.join(timeout=2.0)

    # --- following ------------------------------------------------------------------

    def _follow(self, upid: str) -> None:
        node = parse_upid(upid).get("node", "")
        base = f"/nodes/{node}/tasks/{upid}"
        lines: list[str] = []
        delay, failures = _FOLLOW_MIN, 0
        while not self._closed.is_set():
            try:
                status = read(self._call, f"{base}/status", STATUS)
                lines += self._new_lines(base, len(lines))
                failures = 0
            except Unreachable as exc:
                # A node that is down may come back; keep the task open and say why.
                self._update(upid, lines, note=f"(status unavailable: {exc.message})")
                delay = min(delay * 2, 10.0)
            except BackendError as exc:
                failures += 1
                if failures >= _GIVE_UP_AFTER:
                    self._finish(upid, lines, TaskStatus.ERROR,
                                 f"could not follow the task: {exc.message}")
                    return
            else:
                if status.get("status") == "stopped":
                    outcome, error = exit_status(str(status.get("exitstatus", "")))
                    self._finish(upid, lines, outcome, error)
                    return
                self._update(upid, lines)
                delay = min(delay * 1.5, _FOLLOW_MAX)
            self._closed.wait(delay)

    def _new_lines(self, base: str, start: int) -> list[str]:
        out: list[str] = []
        while True:
            page = read(self._call, f"{base}/log", LOG, start=start + len(out),
                        limit=_LOG_PAGE)
            out += [str(entry.get("t", "")) for entry in page]
            if len(page) < _LOG_PAGE:
                return out

    def _update(self, upid: str, lines: list[str], note: str | None = None) -> None:
        progress, downtime = progress_of(lines)
        with self._lock:
            task = self._tasks[upid]
            result = dict(task.result)
            if downtime is not None:
                result["downtime_ms"] = downtime
            shown = (*lines, note) if note else tuple(lines)
            self._tasks[upid] = replace(task, log=shown, progress=progress, result=result)

    def _finish(self, upid: str, lines: list[str], outcome: TaskStatus,
                error: str | None) -> None:
        self._update(upid, lines)
        with self._lock:
            task = self._tasks[upid]
            task = self._tasks[upid] = replace(
                task, status=outcome, ended=time.time(), error=error,
                progress=1.0 if outcome is not TaskStatus.ERROR else task.progress)
        if self._on_finish is not None:
            self._on_finish(task)

    def _from_listing(self, item: Mapping[str, Any]) -> Task:
        """A task from `/cluster/tasks`: `status` holds the exit status once it ended."""
        upid = str(item["upid"])
        kind, ident = str(item.get("type", "")), str(item.get("id", ""))
        ended = item.get("endtime")
        text = str(item.get("status", "")) if ended else ""
        outcome, error = exit_status(text) if ended else (TaskStatus.RUNNING, None)
        return Task(id=upid, operation=OPERATIONS.get(kind, kind),
                    target=self._target_of(kind, ident), node=str(item.get("node", "")),
                    user=str(item.get("user", "")), started=float(item.get("starttime") or 0),
                    status=outcome, ended=float(ended) if ended else None, error=error)
