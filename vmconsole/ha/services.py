"""What the HA manager knows of each node and service between rounds, and how it
learns it from the libvirt inventory.

A service is a guest whose domain metadata carries an HA mark (`vmconsole.backends.
libvirt.metadata`). Its definition (domain XML) is copied every round from the node
that has it, into the manager's state directory: when the node dies its libvirtd can
no longer be asked, and the copy is what gets defined on the node that recovers it (as
Proxmox's cluster file system holds every guest's config for every node).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from vmconsole.backends.libvirt.identity import parse_guest_id
from vmconsole.model import Guest, GuestKind, GuestStatus, HAConfig, HARequest, HAState, NodeHAState

#: States in which a service should run: it is fenced and recovered with its node
#: (Manager.pm's fenceable states, as the simulator's).
FENCEABLE = (HAState.STARTED, HAState.REQUEST_STOP)
#: States in which a service counts against its node in a placement.
ACTIVE = (HAState.STARTED, HAState.REQUEST_STOP, HAState.FENCE, HAState.RECOVERY)
_AT_REST = {HARequest.STARTED: HAState.STARTED, HARequest.STOPPED: HAState.STOPPED,
            HARequest.DISABLED: HAState.DISABLED, HARequest.IGNORED: HAState.IGNORED}


@dataclass(slots=True)
class NodeTrack:
    """A node between rounds. `unseen_from`: epoch time the fence delay and the lock
    lease count from: the last round that saw it online, or, never seen since the
    manager started, that start. `last_seen`: epoch time of the last round that saw it
    online (this manager's, or the run before it), None if none did."""

    name: str
    unseen_from: float
    last_seen: float | None = None
    state: NodeHAState = NodeHAState.UNKNOWN
    online: bool = False
    address: str = ""
    fence_tries: int = 0
    fence_error: str | None = None


@dataclass(slots=True)
class Service:
    """An HA guest between rounds. `node` is where it runs, or last ran; `fenced_from`
    the nodes fenced under it, whose stale definitions are removed when they return;
    `failed_nodes` the nodes its recovery failed on since it last ran, with why
    (Manager.pm's failed_nodes: the next try goes to the best node not among them)."""

    uuid: str
    name: str
    kind: GuestKind
    node: str
    ha: HAConfig
    maxmem: int
    state: HAState
    why: str = ""
    failures: int = 0
    fenced_from: set[str] = field(default_factory=set)
    waiting: str = ""  # the last "cannot yet" said, so it is said once
    stop_asked: float = 0.0  # when its shutdown was last asked (epoch seconds)
    maxcpu: int = 1  # its configured vCPUs, for the static scheduler
    failed_nodes: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"vm/{self.uuid}"


def at_rest(request: HARequest) -> HAState:
    """The state a request settles into (started, stopped, disabled, ignored)."""
    return _AT_REST[request]


def copies(guests: tuple[Guest, ...]) -> dict[str, list[Guest]]:
    """HA guests by UUID (a UUID defined on two hosts is two rows); templates are none."""
    out: dict[str, list[Guest]] = {}
    for guest in guests:
        if guest.ha is not None and not guest.template:
            out.setdefault(parse_guest_id(guest.id)[0], []).append(guest)
    return out


def where_it_runs(rows: list[Guest]) -> Guest | None:
    return next((g for g in rows if g.status is GuestStatus.RUNNING), None)


class ConfigStore:
    """Copies of the services' domain XML, one file per UUID, readable by the owner only
    (with VIR_DOMAIN_XML_SECURE they may hold a console password)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, uuid: str) -> Path:
        return self.directory / f"{uuid}.xml"

    def get(self, uuid: str) -> str | None:
        try:
            return self._path(uuid).read_text(encoding="utf-8")
        except OSError:
            return None

    def put(self, uuid: str, xml: str) -> None:
        """Store a changed copy (written aside, then renamed: never half a file)."""
        if self.get(uuid) == xml:
            return
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self._path(uuid).with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(xml)
        os.replace(tmp, self._path(uuid))

    def drop(self, uuid: str) -> None:
        self._path(uuid).unlink(missing_ok=True)
