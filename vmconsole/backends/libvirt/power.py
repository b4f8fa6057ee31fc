"""Start, shutdown, stop and reboot: one libvirt call each, run as tasks."""

from __future__ import annotations

import time

import libvirt

from vmconsole.backends.base import BackendError, NotSupported, Task
from vmconsole.backends.libvirt.cluster import ClusterCore
from vmconsole.backends.libvirt.tasks import TaskContext

SHUTDOWN_POLL_S = 0.5


def start(core: ClusterCore, guest_id: str) -> Task:
    host, dom = core.locate(guest_id)
    name = dom.name()
    if core.describe(host, dom).desc.meta.template:
        raise NotSupported(f"{name} is a template: a template cannot be started "
                           "(create a guest from it)")

    def work(ctx: TaskContext) -> None:
        ctx.log(f"starting {name} on {host.name}")
        host.call(lambda _c: dom.create(), f"starting {name}")
        ctx.log(f"{name} is running")

    return core.tasks_book.run("start", guest_id, host.name, work, lock=(guest_id,))


def stop(core: ClusterCore, guest_id: str) -> Task:
    host, dom = core.locate(guest_id)
    name = dom.name()

    def work(ctx: TaskContext) -> None:
        ctx.log(f"powering off {name} on {host.name} (like pulling the plug)")
        host.call(lambda _c: dom.destroy(), f"stopping {name}")
        ctx.log(f"{name} is off")

    return core.tasks_book.run("stop", guest_id, host.name, work, lock=(guest_id,))


def reboot(core: ClusterCore, guest_id: str) -> Task:
    host, dom = core.locate(guest_id)
    name = dom.name()

    def work(ctx: TaskContext) -> None:
        ctx.log(f"asking {name} on {host.name} to reboot")
        host.call(lambda _c: dom.reboot(0), f"rebooting {name}")
        ctx.log("reboot requested")

    return core.tasks_book.run("reboot", guest_id, host.name, work, lock=(guest_id,))


def shutdown(core: ClusterCore, guest_id: str, timeout: float) -> Task:
    host, dom = core.locate(guest_id)
    name = dom.name()

    def work(ctx: TaskContext) -> None:
        ctx.log(f"asking {name} on {host.name} to shut down (ACPI), waiting up to "
                f"{timeout:g} s")
        host.call(lambda _c: dom.shutdown(), f"shutting down {name}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state, _reason = host.call(lambda _c: dom.state(), f"watching {name}")
            if state == libvirt.VIR_DOMAIN_SHUTOFF:
                ctx.log(f"{name} shut down")
                return
            ctx.progress(1 - (deadline - time.monotonic()) / timeout)
            time.sleep(SHUTDOWN_POLL_S)
        raise BackendError(f"{name} did not shut down within {timeout:g} s and is still "
                           "running (its OS ignored the request); stop forces it off")

    return core.tasks_book.run("shutdown", guest_id, host.name, work, lock=(guest_id,))
