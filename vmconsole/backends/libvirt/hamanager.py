"""The HA manager's view in the console: for a libvirt cluster with an `ha` table, the
status file that `vmconsole ha run` writes after every round is read with each poll,
and what the manager says is shown as it says it (never worked out here): each node's
HA state, each service's state, the quorum it counts, its decisions as events and its
fence and recovery actions as tasks. A status gone stale (no manager) says so.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from vmconsole.backends.base import Task, TaskStatus
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.libvirt.events import EventLog
from vmconsole.backends.libvirt.identity import parse_guest_id
from vmconsole.config import LibvirtCluster
from vmconsole.ha.status import ManagerStatus, default_status_path, read_status
from vmconsole.model import Inventory, Quorum, ha_state, node_ha_state

#: The state shown for HA guests and nodes when no manager writes its status.
NO_MANAGER = "no manager"
#: Kinds the backend logs itself for its hosts: the manager's own view of the same
#: moment goes in as "ha_<kind>", so the two are told apart (fence, fenced and
#: recovered keep their kind: the ping chart marks them).
_BACKEND_KINDS = {EventKind.NODE_LOST, EventKind.NODE_ONLINE}


def status_path(cfg: LibvirtCluster) -> Path | None:
    """The cluster's manager status file (None: the cluster has no `ha` table)."""
    if cfg.ha is None:
        return None
    if cfg.ha.status_file:
        return Path(cfg.ha.status_file).expanduser()
    return default_status_path(cfg.name)


class ManagerView:
    """Reads the status file (again only when it changed) and lays it over an
    inventory; new decisions go into the backend's event log once each."""

    def __init__(self, path: Path, log: EventLog) -> None:
        self.path, self.log = path, log
        self._stamp: tuple[int, int] | None = None
        self._status: ManagerStatus | None = None
        self._told = 0.0  # time of the newest decision already logged

    def status(self) -> ManagerStatus | None:
        try:
            st = os.stat(self.path)
        except OSError:
            self._stamp = self._status = None
            return None
        if (st.st_mtime_ns, st.st_size) != self._stamp:
            self._stamp, self._status = (st.st_mtime_ns, st.st_size), read_status(self.path)
            self._log_decisions()
        return self._status

    def _log_decisions(self) -> None:
        status = self._status
        if status is None:
            return
        for decision in status.decisions:
            if decision.time > self._told:
                # The status file is another process's words: parsed, never trusted.
                kind = EventKind.parse(decision.kind)
                self.log.add(EventKind(f"ha_{kind}") if kind in _BACKEND_KINDS else kind,
                             f"HA manager: {decision.message}", decision.node, decision.guest)
        if status.decisions:
            self._told = max(self._told, status.decisions[-1].time)

    def overlay(self, inv: Inventory, now: float) -> Inventory:
        """The inventory with the manager's node and service states and quorum; with no
        fresh status, HA guests and nodes show NO_MANAGER."""
        status = self.status()
        fresh = status is not None and not status.stale(now)
        guests = []
        for guest in inv.guests:
            if guest.ha is not None:
                svc = status.service(f"vm/{parse_guest_id(guest.id)[0]}") if (
                    fresh and status is not None) else None
                state = NO_MANAGER if not fresh else (
                    ha_state(svc.state) if svc is not None and svc.node == guest.node
                    else "not managed here")
                guest = replace(guest, ha=replace(guest.ha, state=state))
            guests.append(guest)
        nodes = []
        for node in inv.nodes:
            record = status.node(node.name) if fresh and status is not None else None
            nodes.append(replace(node, ha_state=(
                node_ha_state(record.state) if record is not None else NO_MANAGER)))
        quorum = Quorum(status.votes, status.expected, status.quorate) if (
            fresh and status is not None) else inv.quorum
        return replace(inv, nodes=tuple(nodes), guests=tuple(guests), quorum=quorum)

    def tasks(self) -> list[Task]:
        """The manager's fence, recovery, start and stop actions, as tasks."""
        status = self._status
        if status is None:
            return []
        out = []
        for t in status.tasks:
            state = (TaskStatus.RUNNING if t.ok is None else
                     TaskStatus.OK if t.ok else TaskStatus.ERROR)
            out.append(Task(t.id, t.operation, t.target, t.node, "ha-manager", t.started,
                            state, t.ended, log=t.log, error=t.error))
        return out
