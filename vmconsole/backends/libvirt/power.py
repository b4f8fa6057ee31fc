"""Start, shutdown, stop and reboot: one libvirt call each, run as tasks."""

from __future__ import annotations

import time
from collections.abc import Callable

import libvirt

from vmconsole.backends.base import BackendError, Conflict, NotSupported, Task
from vmconsole.backends.libvirt.cluster import ClusterCore
from vmconsole.backends.libvirt.tasks import TaskContext

SHUTDOWN_POLL_S = 0.5
INIT_UNKNOWN = "Init process ID is not yet known"  # libvirt's src/lxc/lxc_driver.c
_DOING = {"start": "starting", "stop": "stopping", "reboot": "rebooting"}


def _one_call(core: ClusterCore, guest_id: str, operation: str,
              call: Callable[[libvirt.virDomain], object], asking: str, done: str) -> Task:
    """A task that makes one libvirt call on a guest; `asking` and `done` are log lines
    with {name} and {node} in them."""
    host, dom = core.locate(guest_id)
    name = dom.name()

    def work(ctx: TaskContext) -> None:
        ctx.log(asking.format(name=name, node=host.name))
        host.call(lambda _c: call(dom), f"{_DOING[operation]} {name}")
        core.acted(host, dom.UUIDString())
        ctx.log(done.format(name=name, node=host.name))

    return core.tasks_book.run(operation, guest_id, host.name, work, lock=(guest_id,))


def start(core: ClusterCore, guest_id: str) -> Task:
    """Start the guest's copy on its host. Refused (Conflict) while another copy of the
    same domain (its UUID defined on another host too) runs: both would use one disk."""
    host, dom = core.locate(guest_id)
    if core.describe(host, dom).desc.meta.template:
        raise NotSupported(f"{dom.name()} is a template: a template cannot be started "
                           "(create a guest from it)")
    uuid = dom.UUIDString()
    if (elsewhere := core.running_elsewhere(uuid, host)) is not None:
        node, certain = elsewhere
        if certain:
            raise Conflict(f"{dom.name()} already runs on {node} (the same UUID {uuid} is "
                           f"defined there): starting its copy on {host.name} would run "
                           "one guest twice on the same disks")
        raise Conflict(f"{dom.name()} is also defined on {node} (the same UUID {uuid}), "
                       f"which does not answer: its copy may run there, and starting the "
                       f"one on {host.name} could run one guest twice on the same disks")
    return _one_call(core, guest_id, "start", lambda d: d.create(),
                     "starting {name} on {node}", "{name} is running")


def stop(core: ClusterCore, guest_id: str) -> Task:
    return _one_call(core, guest_id, "stop", lambda d: d.destroy(),
                     "powering off {name} on {node} (like pulling the plug)", "{name} is off")


def reboot(core: ClusterCore, guest_id: str) -> Task:
    return _one_call(core, guest_id, "reboot", lambda d: d.reboot(0),
                     "asking {name} on {node} to reboot", "reboot requested")


def shutdown(core: ClusterCore, guest_id: str, timeout: float) -> Task:
    host, dom = core.locate(guest_id)
    name = dom.name()

    def work(ctx: TaskContext) -> None:
        ctx.log(f"asking {name} on {host.name} to shut down (ACPI), waiting up to "
                f"{timeout:g} s")
        # A container's init is asked by a signal: libvirt's default first tries initctl,
        # which a container without a SysV init never answers.
        flags = libvirt.VIR_DOMAIN_SHUTDOWN_SIGNAL if host.containers else 0
        deadline = time.monotonic() + timeout
        while True:
            try:
                host.call(lambda _c: dom.shutdownFlags(flags), f"shutting down {name}")
                break
            except BackendError as exc:
                # libvirt's LXC driver refuses until the container's controller has told
                # it its init's PID (lxcDomainShutdownFlags), a moment after the start
                # and later on a loaded host: a shutdown asked at once then waits for it.
                if not (host.containers and INIT_UNKNOWN in exc.message
                        and time.monotonic() < deadline):
                    raise
            time.sleep(SHUTDOWN_POLL_S)
        while time.monotonic() < deadline:
            state, _reason = host.call(lambda _c: dom.state(), f"watching {name}")
            if state == libvirt.VIR_DOMAIN_SHUTOFF:
                core.acted(host, dom.UUIDString())
                ctx.log(f"{name} shut down")
                return
            ctx.progress(1 - (deadline - time.monotonic()) / timeout)
            time.sleep(SHUTDOWN_POLL_S)
        raise BackendError(f"{name} did not shut down within {timeout:g} s and is still "
                           "running (its OS ignored the request); stop forces it off")

    return core.tasks_book.run("shutdown", guest_id, host.name, work, lock=(guest_id,))
