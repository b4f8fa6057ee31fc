"""Containers migrate by restart, as the course (and Proxmox's `pct migrate --restart`)
does: libvirt's LXC driver cannot move a running container's state, so the console
shuts it down, defines it on the target, removes it from the source and starts it
there. The container's root file system must be where the target can see it (shared
storage); its outage is the shutdown, the move and its start.
"""

from __future__ import annotations

import time

import libvirt

from vmconsole.backends.base import BackendError, InvalidInput, MigrationMode, Task
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.libvirt.cluster import ClusterCore
from vmconsole.backends.libvirt.connection import Host
from vmconsole.backends.libvirt.tasks import TaskContext

RESTART_ONLY = ("a container cannot migrate live (libvirt's LXC driver keeps no running "
                "state to send): a restart migration shuts it down, moves it and starts it "
                "there")
SHUTDOWN_TIMEOUT_S = 30.0  # then it is powered off
POLL_S = 0.05


def _stop(ctx: TaskContext, host: Host, dom: libvirt.virDomain, name: str) -> None:
    """Graceful (its init gets SIGTERM), then forced after SHUTDOWN_TIMEOUT_S, or at
    once when libvirt cannot signal it (a libvirtd that has not learnt the init's pid
    refuses: "Init process ID is not yet known")."""
    try:
        host.call(lambda _c: dom.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_SIGNAL),
                  f"shutting down {name}")
    except BackendError as exc:
        ctx.log(f"{exc.message}: powering it off instead")
        host.call(lambda _c: dom.destroy(), f"stopping {name}")
        return
    deadline = time.monotonic() + SHUTDOWN_TIMEOUT_S
    while host.call(lambda _c: dom.isActive(), f"watching {name}"):
        if time.monotonic() > deadline:
            ctx.log(f"{name} did not stop within {SHUTDOWN_TIMEOUT_S:g} s: powering it off")
            host.call(lambda _c: dom.destroy(), f"stopping {name}")
            break
        time.sleep(POLL_S)


def migrate(core: ClusterCore, guest_id: str, target: Host, mode: MigrationMode) -> Task:
    """A restart migration of a running container, or an offline one of a stopped one.
    Raises InvalidInput for a live migration (not possible) or a mode that does not
    fit the container's state."""
    host, dom = core.locate(guest_id)
    name = dom.name()
    running = bool(host.call(lambda _c: dom.isActive(), f"reading {name}"))
    if mode is MigrationMode.LIVE:
        raise InvalidInput(f"{name}: {RESTART_ONLY}", {"mode": "live"})
    if running != (mode is MigrationMode.RESTART):
        want = "restart" if running else "offline"
        raise InvalidInput(f"{name} is {'running' if running else 'stopped'}: migrate it "
                           f"{want}", {"mode": mode.value})

    def work(ctx: TaskContext) -> None:
        ctx.log(f"{mode.value} migration of {name} from {host.name} to {target.name}")
        core.log.add(EventKind.MIGRATION_STARTED, f"{name}: {mode.value} migration {host.name} -> "
                     f"{target.name}", node=host.name, guest=guest_id)
        started = time.monotonic()
        xml = host.call(lambda _c: dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE),
                        f"reading {name}")
        if running:
            _stop(ctx, host, dom, name)
            ctx.log(f"{name} stopped on {host.name}")
        ctx.progress(0.4)
        try:
            moved = target.call(lambda c: c.defineXML(xml), f"defining {name} on {target.name}")
        except BackendError as exc:
            if running:
                host.call(lambda _c: dom.create(), f"starting {name} again on {host.name}")
            raise type(exc)(f"{exc.message}; {name} stays on {host.name}") from None
        host.call(lambda _c: dom.undefine(), f"removing {name} from {host.name}")
        ctx.progress(0.7)
        uuid = dom.UUIDString()
        core.left(host, uuid)
        core.defined(target, uuid)
        if running:
            target.call(lambda _c: moved.create(), f"starting {name} on {target.name}")
        wall = time.monotonic() - started
        ctx.result.update({"from": host.name, "to": target.name, "wall_s": round(wall, 3)})
        if running:
            ctx.result["downtime_ms"] = round(wall * 1000)
        ctx.log(f"{name} is {'running' if running else 'defined'} on {target.name} after "
                f"{wall:.2f} s" + (" (down all that time)" if running else ""))
        core.log.add(EventKind.MIGRATION_DONE, f"{name} migrated {host.name} -> {target.name} in "
                     f"{wall:.2f} s by {mode.value}", node=target.name, guest=guest_id)

    return core.tasks_book.run("migrate", guest_id, host.name, work, lock=(guest_id,))
