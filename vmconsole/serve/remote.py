"""The clusters as a session process sees them: poll loops fed by the server's hubs, and
backends whose calls go to the hub over the session's call socket.

`RemoteLoop` is a PollLoop that polls nothing: the hub's results arrive with
`receive` and go to the console with `publish`, and the console subscribes to it as to
any loop. Its backend is a stand-in made for the cluster's abilities
(`ClusterInfo.protocols`), so that the console's `isinstance` checks see what the real
backend can do; what is read on every poll (name, capabilities, the clock's speed) is
answered locally, the rest is a call.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

from vmconsole.audit import AuditLog, AuditRecord
from vmconsole.backends import base
from vmconsole.backends.abilities import ClusterEvent
from vmconsole.backends.base import Backend, BackendError, MetricSample
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.serial import ConsoleSink, ConsoleStream, SupportsSerialConsole
from vmconsole.model import Inventory, InventoryDiff
from vmconsole.monitor.poller import Poller, PollLoop, PollResult
from vmconsole.monitor.task_ends import TaskEnds
from vmconsole.serve.calls import CallChannel
from vmconsole.serve.hub import BackendState, ClusterInfo, EarlierEvents

log = logging.getLogger(__name__)

KEPT = 32  # objects whose recent history a session keeps (_RemotePoller)


# The calls each ability adds (backends/base.py); properties are answered locally.
_BACKEND_CALLS = ("inventory", "history", "tasks", "task", "start", "shutdown", "stop",
                  "reboot", "next_vmid", "clone", "convert_to_template", "snapshots",
                  "snapshot_create", "snapshot_rollback", "snapshot_delete",
                  "migration_targets", "migrate", "ha_set", "ha_remove", "ha_groups")
_PROTOCOL_CALLS = {
    "faults": ("inject_fault", "partition", "restore"),
    "time_control": ("set_time_scale", "now"),
    "probe": ("probe",),
    "scenarios": ("start_scenario", "scenario_summary"),
    "node_admin": ("reboot_node", "shutdown_node", "set_maintenance"),
    "probe_netns": (),
    "ha_admin": ("restart_lrm", "restart_crm", "skip_rounds", "set_cfs_failure",
                 "disarm_ha", "arm_ha", "ha_status"),
    "balancing": ("crs_plan", "crs_apply"),
    "fault_tolerance": ("set_fault_tolerance", "fault_tolerance"),
    "ha_config": ("ha_config", "ha_node_affinity_set", "ha_node_affinity_remove",
                  "ha_resource_affinity_set", "ha_rule_remove", "crs_settings", "set_crs"),
    "ft_limits": ("ft_limits",),
    "host_maintenance": ("set_host_maintenance", "host_evacuation"),
    "template_to_vm": ("convert_to_vm",),
    "serial_console": (),  # opened here, not called (_open_console_here)
    "guest_addresses": ("guest_addresses",),
    "backups": ("backup_options", "backups", "backup", "backup_restore", "backup_delete"),
    "destroy": ("destroy",),
    "undefine": ("removal_plan", "undefine"),
    "hardware": ("hardware", "set_vcpus", "set_memory", "grow_disk", "set_link"),
    "placement_rules": ("placement_rules",),
}


class _RemoteBackendBase:
    def __init__(self, info: ClusterInfo, calls: CallChannel) -> None:
        self._info = info
        self._calls = calls
        self.state = BackendState()

    @property
    def name(self) -> str:
        return self._info.name

    @property
    def address(self) -> str:
        return self._info.address

    @property
    def capabilities(self) -> base.Capabilities:
        return self._info.capabilities

    def close(self) -> None:
        """The hub's backend is the server's to close."""


def _call(method: str) -> Callable[..., Any]:
    def forward(self: _RemoteBackendBase, *args: Any, **kwargs: Any) -> Any:
        return self._calls.call(self._info.name, method, *args, **kwargs)

    forward.__name__ = method
    return forward


class _ClosingSink:
    """A console's sink that closes the backend opened for it once the console ends."""

    def __init__(self, sink: ConsoleSink, backend: Backend) -> None:
        self.sink, self.backend = sink, backend

    def received(self, data: bytes) -> None:
        self.sink.received(data)

    def ended(self, reason: str) -> None:
        self.sink.ended(reason)
        # close() may wait on the network, and this may be libvirt's event loop thread
        threading.Thread(target=self.backend.close, name="console-close", daemon=True).start()


def _open_console_here(self: _RemoteBackendBase, guest_id: str, sink: ConsoleSink,
                       force: bool = False) -> ConsoleStream:
    """A serial console in a served session: its bytes cannot go through the call
    socket (one call, one answer), so the session's process opens the cluster itself,
    from the profile the server serves, for as long as the console is open. The role
    was checked by the console before (the hub's own check does not see this call).
    Blocks (a worker thread): a libvirt cluster is read once to find the guest's host."""
    from vmconsole.backends import open_backend

    config = self._info.console_config
    assert config is not None  # only then is this method there
    backend = open_backend(config)
    try:
        backend.inventory()
        if not isinstance(backend, SupportsSerialConsole):
            raise BackendError(f"{config.name} has no serial console")
        return backend.open_console(guest_id, _ClosingSink(sink, backend), force)
    except BaseException:
        backend.close()
        raise


def remote_backend(info: ClusterInfo, calls: CallChannel) -> Backend:
    """A stand-in for the hub's backend with exactly its abilities."""
    members: dict[str, Any] = {m: _call(m) for m in _BACKEND_CALLS}
    for protocol in info.protocols:
        members.update({m: _call(m) for m in _PROTOCOL_CALLS[protocol]})
    if "time_control" in info.protocols:
        members["time_scale"] = property(
            lambda self: self.state.time_scale or 0.0)
        setter = members["set_time_scale"]

        def set_time_scale(self: _RemoteBackendBase, scale: float) -> None:
            setter(self, scale)
            self.state = BackendState(scale)  # seen at once, before the next poll

        members["set_time_scale"] = set_time_scale
    if "scenarios" in info.protocols:
        members["scenarios"] = lambda self: list(self._info.scenarios)
    if "probe_netns" in info.protocols:
        members["probe_netns"] = property(lambda self: self._info.probe_netns)
    if "serial_console" in info.protocols and info.console_config is not None:
        members["open_console"] = _open_console_here
        members["cfg"] = property(lambda self: self._info.console_config)
    cls = type(f"Remote{info.name.title()}Backend", (_RemoteBackendBase,), members)
    return cast(Backend, cls(info, calls))


class _RemotePoller(Poller):
    """The hub polls; this keeps the recent history of the objects the console has
    shown. An object's history is asked of the hub once, the first time it is shown,
    then carried on from the polls the hub sends (`record`): the detail pane reads it
    on every poll and every cursor move, and a call each time made the console's loop
    wait for the server, whose loop serves every session. At most KEPT objects are
    kept, the least recently shown forgotten, so that a session holds a few objects'
    figures and not the whole cluster's history."""

    def __init__(self, backend: Backend, calls: CallChannel) -> None:
        super().__init__(backend)
        self._calls = calls
        self._kept: OrderedDict[str, deque[MetricSample]] = OrderedDict()
        self._kept_lock = threading.Lock()

    def samples(self, object_id: str, timeframe: str = "recent") -> list[MetricSample]:
        """The object's samples, oldest first: "recent" as described above, a longer
        timeframe from the hub (the backend's own, such as Proxmox's rrddata). Raises
        BackendError when the server does not answer."""
        if timeframe == "recent":
            with self._kept_lock:
                kept = self._kept.get(object_id)
                if kept is not None:
                    self._kept.move_to_end(object_id)
                    return list(kept)
        samples: list[MetricSample] = self._calls.call(self.backend.name, "samples",
                                                       object_id, timeframe)
        if timeframe == "recent":
            with self._kept_lock:
                self._kept[object_id] = deque(samples, maxlen=self.history.capacity)
                while len(self._kept) > KEPT:
                    self._kept.popitem(last=False)
        return samples

    def record(self, inventory: Inventory) -> None:
        """Add a poll's figures for the objects kept (those newer than what the hub's
        history already gave: polls still in the pipe when it was asked)."""
        objects = inventory.objects()
        with self._kept_lock:
            for object_id, kept in self._kept.items():
                obj = objects.get(object_id)
                if obj is None or (kept and kept[-1].time >= inventory.taken_at):
                    continue
                m = obj.metrics
                kept.append(MetricSample(inventory.taken_at, m.cpu, m.mem, obj.maxmem,
                                         m.net_in, m.net_out, m.disk_read, m.disk_write))


class _RemoteTaskEnds(TaskEnds):
    def __init__(self, cluster: str, calls: CallChannel) -> None:
        super().__init__()
        self._cluster, self._calls = cluster, calls

    def watch(self, started: AuditRecord, audit: AuditLog) -> None:
        """The hub watches, so the end is audited even after this session ends."""
        self._calls.call(self._cluster, "watch_task", started)


class RemoteLoop(PollLoop):
    """A poll loop whose results come from the server's hub (`receive`, `publish`)."""

    def __init__(self, info: ClusterInfo, calls: CallChannel) -> None:
        backend = remote_backend(info, calls)
        super().__init__(_RemotePoller(backend, calls))
        self._calls = calls
        self.task_ends = _RemoteTaskEnds(info.name, calls)
        self._pending: tuple[PollResult, BackendState] | None = None
        self._earlier: EarlierEvents | None = None
        self._shown_event = 0  # the seq of the latest backend event given to the console

    def catch_up(self, earlier: EarlierEvents) -> None:
        """The hub's kept events, sent before the first poll a console gets (started at
        login, or drawn in advance and then taken): kept for that poll (`receive`)."""
        self._earlier = earlier

    def receive(self, result: PollResult, state: BackendState) -> bool:
        """A poll from the hub, kept until `publish`; True when none was waiting, so
        that the caller schedules one publication. A poll that arrives while another
        waits replaces it: the console draws the latest once, with the events of both
        and the changes since the poll it drew last (issue 13: a viewer's console
        behind, or starved of CPU, catches up at the cost of one poll). Its figures
        are kept at once, every poll's, for the charts. A poll that does not follow
        the one drawn (a console drawn in advance, pool.py, handed out polls later)
        gets its changes since the one drawn too, or its tree would keep what changed
        in the polls it never saw. The first poll after `catch_up` brings, before its
        own, the hub's kept events this console has not shown: a console started at
        login shows what happened before it, as a local one opened then would, and
        one drawn in advance what happened before it was drawn and while it waited."""
        if result.inventory is not None:
            cast(_RemotePoller, self.poller).record(result.inventory)
        pending = self._pending
        if pending is not None:
            result = replace(result, events=pending[0].events + result.events)
        drawn = self.latest
        earlier, self._earlier = self._earlier, None
        if earlier is not None:
            result = replace(result, events=_with_kept(result, drawn, self._shown_event,
                                                       earlier))
        if pending is not None or (drawn is not None and result.seq != drawn.seq + 1):
            result = replace(result, diff=self._diff_since_published(result))
        self._pending = (result, state)
        return pending is None

    def _diff_since_published(self, result: PollResult) -> InventoryDiff | None:
        """`result`'s changes since the poll the console last drew (the hub's diff is
        since the poll before it, which the console did not draw)."""
        before = self.latest.inventory if self.latest is not None else None
        if before is None or result.inventory is None:
            return result.diff
        if result.diff is None and result.inventory.taken_at == before.taken_at:
            return None  # a failed poll, whose last good inventory the console drew
        return before.diff(result.inventory, self.poller.label_key)

    def publish(self) -> None:
        """The poll waiting, if any, to every subscriber, as the poll thread would."""
        if self._pending is None:
            return
        result, state = self._pending
        self._pending = None
        cast(_RemoteBackendBase, self.backend).state = state
        self.latest = result
        self._shown_event = max((event.seq for event in result.events),
                                default=self._shown_event)
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(result)
            except Exception:
                log.exception("poll subscriber failed")

    def start(self) -> None:
        """Nothing to start: the hub polls."""

    def stop(self, timeout: float = 5.0) -> None:
        """Nothing to stop."""

    def refresh_soon(self) -> None:
        self._calls.notify(self.backend.name, "refresh_soon")


def _with_kept(result: PollResult, drawn: PollResult | None, shown: int,
               earlier: EarlierEvents) -> tuple[ClusterEvent, ...]:
    """`result`'s events with, before them, the hub's kept events of the polls up to
    it that the console has not shown (`shown`: the seq of the latest it has; an
    event's seq is its backend's, counted up), each once, in order. Where the hub no
    longer has all the events since the poll `drawn` (since its start when None), a
    line says so."""
    have = {event.seq for event in result.events}
    kept = [event for seq, events in earlier.polls if seq <= result.seq
            for event in events if event.seq > shown and event.seq not in have]
    own = [event for event in result.events if event.seq > shown or not event.seq]
    events = sorted((*kept, *own), key=lambda event: event.seq)
    if earlier.whole_from > (drawn.seq + 1 if drawn is not None else 0):
        inventory = result.inventory or (drawn.inventory if drawn is not None else None)
        when = events[0].time if events else inventory.taken_at if inventory else 0.0
        events.insert(0, ClusterEvent(0, when, EventKind.EVENTS_NOT_KEPT, (
            "earlier events not shown: the server keeps only its latest "
            f"{earlier.kept} events")))
    return tuple(events)
