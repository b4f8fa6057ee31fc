"""The lab a test module builds for itself, once (fixed `vmclab-*` names: one lab per
machine, so the modules build theirs in turn), and the wait every lab test uses.

A module says the lab it needs with `LAB = LabShape(...)`; the `built_lab` fixture
(tests/lab/conftest.py) builds it before the module's first test and removes it after
its last, a lab that failed half-way included."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from vmconsole.backends.base import Task
from vmconsole.config import LibvirtCluster
from vmconsole.lab.layout import Layout

from ..libvirt.conftest import wait

if TYPE_CHECKING:  # libvirt-python may be missing where the lab cannot be built
    from vmconsole.backends.libvirt import LibvirtBackend

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LabShape:
    """`vmconsole lab up`'s arguments: nodes, guests, containers, HA guests and the HA
    manager's times (seconds); `audit` gives the lab's HA manager an audit log of the
    module's own; `config` is the config file's text before the lab adds its profile."""

    nodes: int = 1
    guests: int = 1
    containers: int = 0
    ha_guests: int = 0
    ha_times: dict[str, float] = field(default_factory=dict)
    audit: bool = False
    config: str = ""


@dataclass(frozen=True, slots=True)
class BuiltLab:
    """A lab that is up: its directory, config file (with the `lab` profile), layout,
    cluster, audit log (when asked for), when `up` began (time.monotonic()) and how
    long it took (seconds)."""

    root: Path
    config: Path
    layout: Layout
    cluster: LibvirtCluster
    audit: Path
    started: float
    up_s: float


def until(what: str, check: Callable[[], T], timeout: float, every: float = 0.1) -> T:
    """`check()`'s first true value, tried every `every` s for up to `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout} s")


def settled(backend: LibvirtBackend, task: Task, timeout: float = 60.0) -> Task:
    """The task once done (`wait`); if it is not within `timeout` s, the failure says
    what happened meanwhile (`what_happened`)."""
    try:
        return wait(backend, task, timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{what_happened(backend, task)}") from None


def what_happened(backend: LibvirtBackend, task: Task) -> str:
    """For a lab test's failure message: the task as it stands (status, error, log), each
    host's state and error, and the cluster's events since the task began, so that a CI
    failure names its cause. Reads only what the backend holds: no call to a host."""
    now = backend.task(task.id)
    lines = [f"{now.id} {now.operation} {now.target}: {now.status.value}, "
             f"progress {now.progress:.2f}, error {now.error!r}"]
    lines += [f"  log: {line}" for line in now.log]
    lines += [f"  host {h.name}: {h.state.value} {h.error!r}" for h in backend.hosts]
    lines += [f"  event {time.strftime('%H:%M:%S', time.gmtime(e.time))} {e.kind}: {e.message}"
              for e in backend.events() if e.time >= task.started]
    return "\n".join(lines)
