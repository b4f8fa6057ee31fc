"""`E` on a guest: read its hardware, open the form, send each change through the
runner (role check, audit record, task log) as its own operation."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from vmconsole.backends.base import Backend, NotSupported, Task
from vmconsole.backends.hardware import GuestHardware, SupportsHardware
from vmconsole.operations import Outcome
from vmconsole.ui.guest_flow import GuestFlow
from vmconsole.ui.labels import guest_title

if TYPE_CHECKING:  # the form's module is loaded when `E` is first pressed (issue 12)
    from vmconsole.ui.modals.hardware import Part

def _hardware(backend: Backend) -> SupportsHardware:
    if not isinstance(backend, SupportsHardware):
        raise NotSupported(f"{backend.name} cannot change a guest's hardware")
    return backend


def operation(gid: str, part: Part) -> tuple[str, Callable[[Backend], Task], dict[str, object]]:
    """The audited name, the backend call and the audit parameters of one part (sizes in
    bytes)."""
    change = part.change
    if change.vcpus is not None:
        count = change.vcpus
        return "vcpus", lambda b: _hardware(b).set_vcpus(gid, count), {"vcpus": count}
    if change.memory is not None:
        size = change.memory
        return "memory", lambda b: _hardware(b).set_memory(gid, size), {"memory_bytes": size}
    if change.disks:
        disk, size = next(iter(change.disks.items()))
        return ("resize", lambda b: _hardware(b).grow_disk(gid, disk, size),
                {"disk": disk, "size_bytes": size})
    nic, up = next(iter(change.links.items()))
    return "link", lambda b: _hardware(b).set_link(gid, nic, up), {"nic": nic, "link_up": up}


async def edit_hardware(flows: GuestFlow, title: str) -> None:
    """Read the guest's hardware in a worker, then show the form until it is applied or
    cancelled."""
    gid = flows.gid
    hw: GuestHardware | None = await flows.query(
        "the guest's hardware", lambda b: _hardware(b).hardware(gid))
    if hw is None:
        return

    async def send(part: Part) -> Outcome:
        name, call, parameters = operation(gid, part)
        return await flows.run(name, f"{title}: {part.what}", call, parameters)

    from vmconsole.ui.modals.hardware import HardwareForm

    await flows.app.push_screen_wait(HardwareForm(guest_title(flows.sel.guest), hw, send,
                                                  flows.app.symbols))
