"""One poll hub per cluster, in the server process: the cluster's only poll loop, whose
every result is pickled once and sent to every session process, and the only door to
the cluster's backend for those processes (`call`), checked against each session's
role. Sixty viewers thus cost the cluster one poll, and a demo's sessions share one
simulator: its clock, faults and tasks are the hub's backend's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from vmconsole.actor import Actor
from vmconsole.audit import AuditLog, AuditRecord
from vmconsole.backends.abilities import (
    ClusterEvent,
    SupportsBalancing,
    SupportsFaults,
    SupportsFaultTolerance,
    SupportsFaultToleranceLimits,
    SupportsGuestAddresses,
    SupportsHAAdmin,
    SupportsHAConfig,
    SupportsHostMaintenance,
    SupportsNodeAdmin,
    SupportsPlacementRules,
    SupportsProbe,
    SupportsProbeNamespace,
    SupportsScenarios,
    SupportsTemplateToVM,
    SupportsTimeControl,
)
from vmconsole.backends.backups import SupportsBackups
from vmconsole.backends.base import (
    AuthError,
    BackendError,
    Capabilities,
    InvalidInput,
    NotSupported,
    Task,
)
from vmconsole.backends.hardware import SupportsHardware
from vmconsole.backends.removal import SupportsDestroy, SupportsUndefine
from vmconsole.backends.serial import SupportsSerialConsole
from vmconsole.config import ClusterConfig
from vmconsole.monitor.poller import PollLoop, PollResult
from vmconsole.serve import wire
from vmconsole.serve.acted_by import ActedBy

log = logging.getLogger(__name__)
# The part of the poll interval over which viewers get a poll, one after another (an
# operator's or admin's console gets it at once).
VIEWER_SPREAD = 0.8
# The latest events the hub keeps for a console that starts (or, drawn in advance by
# pool.py, is taken), whose events panel would otherwise lack what happened before it.
# About 200 bytes each; the events panel keeps 500 lines.
KEPT_EVENTS = 200

# The optional abilities a session process's stand-in backend mirrors, by name.
PROTOCOLS: dict[str, type] = {
    "faults": SupportsFaults,
    "time_control": SupportsTimeControl,
    "probe": SupportsProbe,
    "scenarios": SupportsScenarios,
    "node_admin": SupportsNodeAdmin,
    "probe_netns": SupportsProbeNamespace,
    "ha_admin": SupportsHAAdmin,
    "balancing": SupportsBalancing,
    "fault_tolerance": SupportsFaultTolerance,
    "ha_config": SupportsHAConfig,
    "ft_limits": SupportsFaultToleranceLimits,
    "host_maintenance": SupportsHostMaintenance,
    "template_to_vm": SupportsTemplateToVM,
    "serial_console": SupportsSerialConsole,  # opened by the session itself (remote.py)
    "guest_addresses": SupportsGuestAddresses,
    "backups": SupportsBackups,
    "destroy": SupportsDestroy,
    "undefine": SupportsUndefine,
    "hardware": SupportsHardware,
    "placement_rules": SupportsPlacementRules,
}

# Who may call what. A session's console checks the role first (and audits a
# refusal); this is the server's own check, for a session process gone wrong.
READ = frozenset({"inventory", "history", "tasks", "task", "next_vmid", "snapshots",
                  "migration_targets", "ha_groups", "probe", "scenarios",
                  "scenario_summary", "now", "samples", "refresh_soon", "ha_status",
                  "crs_plan", "fault_tolerance", "guest_addresses", "backup_options",
                  "backups", "ha_config", "crs_settings", "ft_limits", "hardware",
                  "placement_rules", "host_evacuation", "removal_plan"})
OPERATE = frozenset({"start", "shutdown", "stop", "reboot", "clone", "convert_to_template",
                     "snapshot_create", "snapshot_rollback", "snapshot_delete",
                     "migrate", "ha_set", "ha_remove", "watch_task", "convert_to_vm",
                     "backup", "backup_restore", "backup_delete",
                     "destroy", "undefine", "set_vcpus", "set_memory", "grow_disk", "set_link"})
ADMIN = frozenset({"inject_fault", "partition", "restore", "set_time_scale",
                   "start_scenario", "reboot_node", "shutdown_node", "set_maintenance",
                   "restart_lrm", "restart_crm", "skip_rounds", "set_cfs_failure",
                   "disarm_ha", "arm_ha", "crs_apply", "set_fault_tolerance",
                   "set_host_maintenance", "ha_node_affinity_set", "ha_node_affinity_remove",
                   "ha_resource_affinity_set", "ha_rule_remove", "set_crs"})


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    """What a session process knows of a cluster without asking: its name, abilities,
    and what does not change while it runs."""

    name: str
    address: str  # Backend.address: where the server reaches the cluster
    capabilities: Capabilities
    protocols: tuple[str, ...]  # keys of PROTOCOLS the backend implements
    probe_netns: str | None = None
    scenarios: tuple[tuple[str, str], ...] = ()
    # The cluster's profile entry, where the session opens the cluster itself: a serial
    # console streams, and the call socket carries one answer per call.
    console_config: ClusterConfig | None = None


@dataclass(frozen=True, slots=True)
class BackendState:
    """What a console reads of its backend on every poll, sent with the poll so that
    reading it costs no call (the simulated clock's speed)."""

    time_scale: float | None = None


@dataclass(frozen=True, slots=True)
class EarlierEvents:
    """The hub's latest events, sent to a session as it attaches (wire.Kind.EVENTS):
    `polls` are (poll seq, that poll's events), oldest first, for the polls that
    brought any; they are whole from poll `whole_from` on (older ones' were let go,
    past `kept` events)."""

    cluster: str
    whole_from: int
    polls: tuple[tuple[int, tuple[ClusterEvent, ...]], ...]
    kept: int = KEPT_EVENTS


class Link(Protocol):
    """A session process, as the hub sees it."""

    actor: Actor

    def send(self, data: bytes) -> None:
        """Queue a frame for the session process (on the server's event loop)."""
        ...


class PollHub:
    """Shares one poll loop and its backend among session processes."""

    def __init__(self, loop: PollLoop, audit: AuditLog, read_only: bool = False) -> None:
        """`read_only`: refuse every change, whatever the session's role (the console
        refuses it first; this holds for a session process that does not)."""
        self.loop = loop
        self.audit = audit
        self.read_only = read_only
        self._links: dict[Link, None] = {}  # in the order they attached
        self._latest: bytes | None = None
        self._kept: deque[tuple[int, tuple[ClusterEvent, ...]]] = deque()
        self._kept_count = 0  # events in _kept
        self._whole_from = 0  # the poll seq from which _kept holds every event
        self._aloop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.acted_by = ActedBy()

    @property
    def name(self) -> str:
        return self.loop.backend.name

    @property
    def latest(self) -> bytes | None:
        """The latest poll's frame, as sent to every session."""
        return self._latest

    @property
    def sessions(self) -> int:
        """Actor processes attached now."""
        return len(self._links)

    def info(self) -> ClusterInfo:
        backend = self.loop.backend
        protocols = tuple(name for name, proto in PROTOCOLS.items()
                          if isinstance(backend, proto))
        netns = backend.probe_netns if isinstance(backend, SupportsProbeNamespace) else None
        scenarios = tuple(backend.scenarios()) if isinstance(backend, SupportsScenarios) else ()
        console = backend.cfg if isinstance(backend, SupportsSerialConsole) else None
        return ClusterInfo(backend.name, backend.address, backend.capabilities, protocols,
                           netns, scenarios, console)

    def start(self) -> None:
        """Subscribe to the poll loop; call on the server's event loop."""
        self._aloop = asyncio.get_running_loop()
        self._unsubscribe = self.loop.subscribe(self._polled)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _polled(self, result: PollResult) -> None:
        # In the poll thread: pickled here, once, for every session.
        backend = self.loop.backend
        state = BackendState(backend.time_scale if isinstance(backend, SupportsTimeControl)
                             else None)
        result = dataclasses.replace(result, tasks=self.acted_by.tell(result.tasks))
        data = wire.frame(wire.Kind.POLL, wire.dumps((result, state)))
        if self._aloop is not None and not self._aloop.is_closed():
            self._aloop.call_soon_threadsafe(self._arrived, data, result.seq, result.events)

    def _arrived(self, data: bytes, seq: int, events: tuple[ClusterEvent, ...]) -> None:
        """A poll on the server's event loop: its events kept (KEPT_EVENTS), then sent."""
        if events:
            self._kept.append((seq, events))
            self._kept_count += len(events)
            while self._kept_count > KEPT_EVENTS:
                gone, dropped = self._kept.popleft()
                self._kept_count -= len(dropped)
                self._whole_from = gone + 1
        self._broadcast(data)

    def _broadcast(self, data: bytes) -> None:
        """Send a poll to every session: at once to those who may act, spread over
        VIEWER_SPREAD of the poll interval to viewers, each at the same offset every
        time. Each console redraws what the poll changed (about 13 ms of CPU on the
        demo); sixty viewers woken at once kept both cores busy for half a second after
        every poll, and an operator's key pressed then waited behind all of them."""
        self._latest = data
        links = list(self._links)
        viewers = [link for link in links if not link.actor.role.may_operate()]
        for link in links:
            if link.actor.role.may_operate():
                link.send(data)
        if not viewers:
            return
        aloop = asyncio.get_running_loop()
        step = VIEWER_SPREAD * self.loop.poller.interval / len(viewers)
        for i, link in enumerate(viewers):
            aloop.call_later(i * step, self._send_if_attached, link, data)

    def _send_if_attached(self, link: Link, data: bytes) -> None:
        if link in self._links:
            link.send(data)

    def first_frames(self) -> list[bytes]:
        """What a console gets before any other poll: the events kept (EVENTS), then the
        latest poll; none before the first poll. Every console, started at login or
        drawn in advance (pool.py), shows the kept events once, in order, before the
        later ones (remote.RemoteLoop.catch_up), as a local console opened then shows
        the cluster's recent events."""
        if self._latest is None:
            return []
        earlier = EarlierEvents(self.name, self._whole_from, tuple(self._kept))
        return [wire.frame(wire.Kind.EVENTS, wire.dumps(earlier)), self._latest]

    def attach(self, link: Link) -> None:
        """Send `link` every poll from now on, starting with `first_frames`."""
        self._links[link] = None
        for data in self.first_frames():
            link.send(data)

    def detach(self, link: Link) -> None:
        self._links.pop(link, None)

    # --- calls from session processes -----------------------------------------------------

    def call(self, actor: Actor, method: str, args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> Any:
        """Run one call for `session`, blocking (in a worker thread). Raises AuthError
        when the role may not, NotSupported for what is no call, and the backend's
        errors as they are."""
        role = actor.role
        if self.read_only and method in OPERATE | ADMIN:
            raise AuthError(f"{method}: this server is read-only")
        if method in ADMIN and not role.may_inject_faults():
            raise AuthError(f"{method} needs the admin role; you are {role}")
        if method in OPERATE and not role.may_operate():
            raise AuthError(f"{method} needs the operator role; you are {role}")
        if method not in READ | OPERATE | ADMIN:
            raise NotSupported(f"{method} is not a call a console may make")
        if method == "refresh_soon":
            self.loop.refresh_soon()
            return None
        if method == "samples":
            return self.loop.poller.samples(*args, **kwargs)
        if method == "watch_task":
            (record,) = args
            if not isinstance(record, AuditRecord):
                raise InvalidInput("watch_task takes an audit record")
            # The record is the session's own, whatever the process says.
            record = dataclasses.replace(record, user=actor.user, role=str(role),
                                         source=actor.source, cluster=self.name)
            self.loop.task_ends.watch(record, self.audit)
            return None
        target = getattr(self.loop.backend, method, None)
        if not callable(target):
            raise NotSupported(f"{self.name} cannot {method.replace('_', ' ')}")
        value = target(*args, **kwargs)
        if isinstance(value, Task):  # a task started, or one read
            return (self.acted_by.note(value, actor.user) if method in OPERATE | ADMIN
                    else self.acted_by.tell((value,))[0])
        if method == "tasks":
            return list(self.acted_by.tell(value))
        return value


def reply(call_id: int, call: Callable[[], Any]) -> bytes:
    """Run `call` and frame its outcome for the session: the value, or a backend
    error by kind (its message and, for a form, the reason per field)."""
    try:
        outcome: tuple[Any, ...] = (call_id, True, call())
    except BackendError as exc:
        fields = exc.fields if isinstance(exc, InvalidInput) else {}
        outcome = (call_id, False, (type(exc).__name__, exc.message, fields))
    except Exception as exc:  # a backend bug: the console says so and carries on
        log.exception("a call from a session failed")
        outcome = (call_id, False, ("BackendError", f"internal error: {exc}", {}))
    return wire.frame(wire.Kind.REPLY, wire.dumps(outcome))
