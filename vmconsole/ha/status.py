"""The HA manager's status file: what `vmconsole ha run` decided in its last round,
written whole after every round (a temporary file renamed over the old one, so a reader
never sees half of it), read by `vmconsole ha status` and by the console, which shows
the manager's view instead of working it out again.

It is JSON: the cluster's quorum as the manager sees it, each node's HA state
(NodeStatus.pm's online, unknown, fence), each service's state (Manager.pm's started,
fence, recovery, ...), the newest decisions with their reasons, and the manager's tasks
(fence, recovery, start) for the console's task log.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vmconsole.audit import default_audit_path
from vmconsole.jsontext import parse_json

#: A status older than this many rounds (plus the fence timeout a round may spend) is
#: a manager that stopped: the console says so instead of showing it as current.
STALE_ROUNDS = 3


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """A node as the manager sees it. `last_seen` is the epoch time of the last round
    that saw it online, of this run or the one it took up (None: none did);
    `fence_tries` and `fence_error` tell a fence that fails."""

    name: str
    state: str  # NodeHAState's value: online, unknown, fence
    online: bool
    last_seen: float | None = None
    fence_tries: int = 0
    fence_error: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    """An HA guest: its id in the console ("vm/<UUID>"), name, node, the admin's
    request and the manager's state for it, with why it is in that state."""

    id: str
    name: str
    node: str
    request: str
    state: str  # HAState's value: started, stopped, fence, recovery, error, ...
    why: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision, as the audit log and the events pane tell it."""

    time: float
    kind: str  # node_lost, fence, fenced, fence_failed, recovered, no_quorum, ...
    message: str
    node: str | None = None
    guest: str | None = None


@dataclass(frozen=True, slots=True)
class ManagerTask:
    """One action of the manager (operation "hafence", "harecover", "hastart", "hastop"),
    for the console's task log. Times are epoch seconds."""

    id: str
    operation: str
    target: str
    node: str
    started: float
    ended: float | None = None
    ok: bool | None = None  # None: still running
    log: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ManagerStatus:
    cluster: str
    pid: int
    updated: float  # epoch seconds of the round that wrote it
    round_s: float
    fence_timeout_s: float
    quorate: bool
    votes: int
    expected: int
    quorum_text: str  # "3 of 3 votes (2 needed)", or why there is no quorum
    nodes: tuple[NodeRecord, ...] = ()
    services: tuple[ServiceRecord, ...] = ()
    decisions: tuple[Decision, ...] = ()
    tasks: tuple[ManagerTask, ...] = field(default_factory=tuple)

    def stale(self, now: float) -> bool:
        """True when the manager has written nothing for STALE_ROUNDS rounds (and the
        longest fence a round may wait for): it has stopped or hangs."""
        return now - self.updated > STALE_ROUNDS * self.round_s + self.fence_timeout_s

    def node(self, name: str) -> NodeRecord | None:
        return next((n for n in self.nodes if n.name == name), None)

    def service(self, guest_id: str) -> ServiceRecord | None:
        return next((s for s in self.services if s.id == guest_id), None)


def default_status_path(cluster: str) -> Path:
    """Beside the audit log: `$XDG_STATE_HOME/vmconsole/ha/<cluster>.json`."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in cluster) or "cluster"
    return default_audit_path().parent / "ha" / f"{safe}.json"


def write_status(path: Path, status: ManagerStatus) -> None:
    """Replace the file at once (rename over it); its directory is made, owner only.
    Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".status-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(status), handle, sort_keys=True)
        os.chmod(tmp, 0o644)  # the console may run as another user than the manager
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _records(cls: Any, items: object) -> tuple[Any, ...]:
    if not isinstance(items, list):
        raise ValueError("expected a list")
    return tuple(cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in item.items()})
                 for item in items)


def read_status(path: Path) -> ManagerStatus | None:
    """The manager's last status, or None if there is none or it cannot be read (a
    file of another version, or one being replaced, counts as none)."""
    try:
        data = parse_json(path.read_text(encoding="utf-8"))
        return ManagerStatus(
            cluster=str(data["cluster"]), pid=int(data["pid"]),
            updated=float(data["updated"]), round_s=float(data["round_s"]),
            fence_timeout_s=float(data["fence_timeout_s"]), quorate=bool(data["quorate"]),
            votes=int(data["votes"]), expected=int(data["expected"]),
            quorum_text=str(data["quorum_text"]),
            nodes=_records(NodeRecord, data["nodes"]),
            services=_records(ServiceRecord, data["services"]),
            decisions=_records(Decision, data["decisions"]),
            tasks=_records(ManagerTask, data["tasks"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
