"""Power operations with Proxmox's timing: a start task ends when QEMU (or the
container) runs, and the guest answers on the network only once it has booted; a
shutdown asks the guest OS (ACPI) and fails after its timeout if the OS ignores it;
a stop kills at once and may overrule a running shutdown."""

from __future__ import annotations

import math

from vmconsole.backends.base import Conflict, TaskStatus
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.guards import (
    begin,
    ensure_not_template,
    ensure_quorate,
    label,
    release,
    storage_error,
)
from vmconsole.backends.sim.state import Instance, SimGuest
from vmconsole.backends.sim.tasks import TaskRecord
from vmconsole.model import GuestKind

START_SECONDS = {GuestKind.VM: 1.2, GuestKind.CT: 1.8}  # until QEMU / lxc-start is up
STOP_SECONDS = 0.3


def power_on(sim: Sim, guest: SimGuest, node: str) -> Instance:
    """Start the guest's process on `node`, with its pending config; it answers once
    booted."""
    # loaded when used: its module brings the hardware dialog's types (issue 12)
    from vmconsole.backends.sim.hardware import take_pending

    take_pending(guest)
    inst = sim.start_instance(guest.id, node)

    def booted() -> None:
        if sim.nodes[node].instances.get(guest.id) is inst:
            inst.booted = True
            sim.touch(guest.id)
            sim.narrate(EventKind.BOOTED,
                        f"{guest.vmid} ({guest.name}) booted on {node}: it answers "
                        "on the network", node, guest.id)

    sim.after(guest.boot_seconds, booted)
    return inst


def start_error(sim: Sim, guest: SimGuest, node: str) -> str | None:
    if not sim.nodes[node].alive:
        return f"node '{node}' went down"
    return storage_error(sim, guest, node)


def running_instance(sim: Sim, guest: SimGuest) -> Instance:
    """The guest's running process, on a node the cluster can reach and change."""
    ensure_quorate(sim, guest.node)
    inst = sim.running_on_own_node(guest)
    if inst is None:
        raise Conflict(f"{label(guest)} is not running")
    return inst


def off_after(guest: SimGuest, inst: Instance, now: float) -> float:
    """Seconds from an ACPI request until the guest is off (a booting OS acts on it
    only once booted; inf when it ignores ACPI)."""
    booted_at = inst.since + guest.boot_seconds
    return max(now, booted_at) - now + guest.shutdown_seconds


def finish(sim: Sim, guest: SimGuest, task: TaskRecord, error: str | None = None) -> None:
    release(sim, guest, task)
    task.finish(sim.now, TaskStatus.ERROR if error else TaskStatus.OK, error)


def start(sim: Sim, guest: SimGuest) -> TaskRecord:
    ensure_not_template(guest, "start")
    if sim.running_on_own_node(guest) is not None:
        raise Conflict(f"{label(guest)} is already running on {guest.node}")
    delay = START_SECONDS[guest.kind]
    task = begin(sim, guest, "start", seconds=delay)
    task.log.append(f"starting {label(guest)} on {guest.node}")

    def started() -> None:
        error = start_error(sim, guest, guest.node)
        if error is None:
            power_on(sim, guest, guest.node)
            task.log.append(f"started; the guest OS boots (about {guest.boot_seconds:.0f} s "
                            "until it answers on the network)")
        finish(sim, guest, task, error)

    sim.after(delay, started)
    return task


def shutdown(sim: Sim, guest: SimGuest, timeout: float) -> TaskRecord:
    inst = running_instance(sim, guest)
    needed = off_after(guest, inst, sim.now)
    task = begin(sim, guest, "shutdown", seconds=min(needed, timeout))
    node = guest.node
    task.log.append(f"shutdown {label(guest)}: ACPI power button sent, waiting up to "
                    f"{timeout:.0f} s for the guest OS")

    def off() -> None:
        if sim.nodes[node].instances.get(guest.id) is inst:
            sim.end_instance(guest.id, node)
        if not task.status.done:
            finish(sim, guest, task)

    def timed_out() -> None:
        if not task.status.done:
            reason = ("the guest ignores ACPI (no guest agent)" if math.isinf(needed)
                      else "the guest OS is still shutting down")
            task.log.append(f"{reason}; it keeps running: use stop to force it off")
            finish(sim, guest, task, "VM quit/powerdown failed - got timeout")

    if needed <= timeout:
        sim.after(needed, off)
    else:
        if not math.isinf(needed):
            sim.after(needed, off)
        sim.after(timeout, timed_out)
    task.cancel = lambda: finish(sim, guest, task, "shutdown overruled by a stop")
    return task


def stop(sim: Sim, guest: SimGuest) -> TaskRecord:
    running_instance(sim, guest)
    holder = sim.tasks.get(guest.busy) if guest.busy else None
    if holder is not None and holder.operation == "shutdown" and holder.cancel:
        holder.cancel()  # --overrule-shutdown: a stop wins over a pending shutdown
    task = begin(sim, guest, "stop", seconds=STOP_SECONDS)
    node = guest.node
    task.log.append(f"stopping {label(guest)} (hard stop: like pulling the plug)")

    def stopped() -> None:
        sim.end_instance(guest.id, node)
        finish(sim, guest, task)

    sim.after(STOP_SECONDS, stopped)
    return task


def reboot(sim: Sim, guest: SimGuest, timeout: float = 60.0) -> TaskRecord:
    inst = running_instance(sim, guest)
    needed = off_after(guest, inst, sim.now)
    delay = START_SECONDS[guest.kind]
    task = begin(sim, guest, "reboot", seconds=min(needed + delay, timeout))
    node = guest.node
    task.log.append(f"rebooting {label(guest)}: shutdown, then start")
    if needed > timeout:
        def timed_out() -> None:
            finish(sim, guest, task, "VM quit/powerdown failed - got timeout")

        sim.after(timeout, timed_out)
        return task

    def off() -> None:
        sim.end_instance(guest.id, node)
        task.log.append("guest is off; starting it again")
        sim.after(delay, on)

    def on() -> None:
        error = start_error(sim, guest, node)
        if error is None:
            power_on(sim, guest, node)
        finish(sim, guest, task, error)

    sim.after(needed, off)
    return task
