"""The vCenter backend's core: the session, the poll and the helpers every operation uses.

One poll is one PropertyCollector call over a ContainerView of the whole inventory
(`inventory`); a host's or VM's history is the PerformanceManager's (`history`). The
operations (`backend.VCenterBackend`) read what they act on again through `_vm` and
`_host`, and follow vSphere's tasks with the `TaskTracker`. Nodes are ESXi hosts; a
guest's id is its managed object id (vm-42).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pyVmomi import vim

from vmconsole.backends.base import (
    InvalidInput,
    MetricSample,
    NotFound,
    Task,
    TaskStatus,
)
from vmconsole.backends.endpoint import https_url
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.journal import EventJournal, TrackedTasks
from vmconsole.backends.vcenter import history, placement
from vmconsole.backends.vcenter.connection import Session
from vmconsole.backends.vcenter.inventory import PATHS, VIEW_TYPES, Reading, build
from vmconsole.backends.vcenter.properties import container_view, retrieve_objects, retrieve_view
from vmconsole.backends.vcenter.tasks import TaskTracker
from vmconsole.config import VCenterCluster
from vmconsole.model import Inventory
from vmconsole.text import visible

T = TypeVar("T")


class VCenterCore(TrackedTasks):
    """One vCenter Server's session, poll and task tracker: every host of every cluster
    is a node of one tree."""

    _tracker: TaskTracker

    def __init__(self, cfg: VCenterCluster) -> None:
        self.cfg = cfg
        self.session = Session(cfg)
        self._tracker = TaskTracker(self.session.call, cfg.user, self._task_ended)
        # The session's ServiceContent (one per login) with its ContainerView and the
        # PerformanceManager's counter keys: a new login needs new ones.
        self._view_of: tuple[Any, Any] | None = None
        self._counters_of: tuple[Any, dict[str, int]] | None = None
        self._views_lock = threading.Lock()
        self._last: Reading | None = None
        self._journal = EventJournal()
        if self.session.insecure:
            self._journal.warn_insecure_tls(cfg.name, "vCenter's")

    # --- identity -----------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def address(self) -> str:
        """The vSphere API endpoint (the SDK URL pyvmomi talks SOAP to)."""
        return https_url(self.cfg.host, self.cfg.port, "sdk")

    # --- polling ------------------------------------------------------------------------

    def inventory(self) -> Inventory:
        """Everything, in one PropertyCollector call. Raises Unreachable, AuthError."""
        try:
            objects = self._call("read the inventory",
                                 lambda c: retrieve_view(c, self._view(c), PATHS))
        except NotFound:
            # The server no longer has the session's view (it restarted under the same
            # session id, or an admin ended it): a new view, once.
            with self._views_lock:
                self._view_of = None
            objects = self._call("read the inventory",
                                 lambda c: retrieve_view(c, self._view(c), PATHS))
        reading = build(self.cfg.name, time.time(), objects)
        self._last = reading
        return reading.inventory

    def history(self, object_id: str, timeframe: str) -> list[MetricSample]:
        """Samples from the PerformanceManager for a host ("node/NAME") or a VM."""
        if timeframe not in history.TIMEFRAMES:
            raise InvalidInput(f"timeframe must be one of {', '.join(history.TIMEFRAMES)}",
                               {"timeframe": timeframe})

        def query(content: Any) -> list[MetricSample]:
            keys = self._counter_keys(content)
            if object_id.startswith("node/"):
                place = self._host(content, object_id.removeprefix("node/"))
                entity, maxmem = place.ref, self._maxmem(object_id)
            else:
                entity, maxmem = placement.vm_ref(content, object_id), self._maxmem(object_id)
            spec = history.query_spec(entity, keys, timeframe)
            return history.samples(content.perfManager.QueryPerf([spec]), keys, maxmem)

        return self._call(f"read the history of {object_id}", query)

    def close(self) -> None:
        self._tracker.close()
        self.session.close()

    # --- helpers ------------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[Any], T]) -> T:
        return self.session.call(what, fn)

    def _view(self, content: Any) -> Any:
        """The ContainerView of this session, made once per login."""
        with self._views_lock:
            if self._view_of is None or self._view_of[0] is not content:
                self._view_of = (content, container_view(content, VIEW_TYPES))
            return self._view_of[1]

    def _counter_keys(self, content: Any) -> dict[str, int]:
        with self._views_lock:
            known = self._counters_of
        if known is not None and known[0] is content:
            return known[1]
        found = retrieve_objects(content, [content.perfManager],
                                 {vim.PerformanceManager: ("perfCounter",)})
        keys = history.counter_keys(found[0].get("perfCounter") if found else None)
        with self._views_lock:
            self._counters_of = (content, keys)
        return keys

    def _vm(self, guest_id: str) -> placement.VmFacts:
        return self._call(f"read {guest_id}", lambda c: placement.vm_facts(c, guest_id))

    def _host(self, content: Any, node: str) -> placement.HostPlace:
        place = placement.hosts(content, self._view(content)).get(node)
        if place is None:
            raise InvalidInput(f"no host {visible(node)} on this vCenter", {"node": "unknown host"})
        return place

    def _node_of(self, vm: placement.VmFacts) -> str:
        """The VM's host name as of the last poll (its id when unknown)."""
        moid = getattr(vm.host, "_moId", "")
        if self._last is not None:
            for name, ref in self._last.host_refs.items():
                if ref._moId == moid:
                    return name
        return moid

    def _maxmem(self, object_id: str) -> int:
        if self._last is None:
            return 0
        obj = self._last.inventory.objects().get(object_id)
        return obj.maxmem if obj is not None else 0

    def _follow(self, what: str, operation: str, vm: placement.VmFacts,
                start: Callable[[], Any], result: Mapping[str, object] | None = None) -> Task:
        ref = self._call(what, lambda _: start())
        return self._tracker.follow(ref, operation, vm.id, self._node_of(vm), result=result)

    def _task_ended(self, task: Task) -> None:
        """vMotions on the timeline."""
        if task.operation != "migrate":
            return
        target = task.result.get("target", "?")
        if task.status is TaskStatus.ERROR:
            self._journal.add(EventKind.MIGRATION_FAILED,
                              f"{task.target} did not move to {target}: "
                              f"{task.error}", node=task.node, guest=task.target)
        else:
            self._journal.add(EventKind.MIGRATED, f"{task.target} moved to {target} (vMotion)",
                              node=task.node, guest=task.target)



__all__ = ["VCenterCore"]
