"""Clones and templates. A full clone copies every disk at the storage's speed (a 10 GiB
disk on the iSCSI LUN takes about a minute); a linked clone shares the template's base
volume and is made in a second or two. The new guest is in the inventory, locked
'clone', from the first moment, and a failed clone removes it and its disks again."""

from __future__ import annotations

import re
from collections.abc import Callable

from vmconsole.backends.base import Conflict, InvalidInput, TaskStatus
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.guards import (
    begin,
    claim,
    ensure_free,
    ensure_quorate,
    label,
    quorate,
    release,
)
from vmconsole.backends.sim.lab import new_mac, new_uuid
from vmconsole.backends.sim.state import GiB, SimDisk, SimGuest
from vmconsole.backends.sim.tasks import TaskRecord

DNS_NAME = re.compile(r"^(?=.{1,63}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$")
LINKED_CLONE_SECONDS = 1.5
TEMPLATE_SECONDS = 1.5
MIN_VMID, MAX_VMID = 100, 999_999_999  # pve-docs' pve-vmid


def free_vmid(sim: Sim) -> int:
    taken = {g.vmid for g in sim.guests.values()}
    vmid = 100
    while vmid in taken:
        vmid += 1
    return vmid


def free_ip(sim: Sim) -> str:
    taken = {g.ip for g in sim.guests.values()} | {n.address for n in sim.nodes.values()}
    i = 100
    while True:
        ip = f"10.10.{10 + i // 254}.{i % 254 + 1}"
        if ip not in taken:
            return ip
        i += 1


def _fmt(size: float) -> str:
    return f"{size / GiB:.1f} GiB"


def _storage_problems(sim: Sim, source: SimGuest, spec: CloneSpec) -> dict[str, str]:
    problems: dict[str, str] = {}
    local = [d for d in source.disks if not sim.is_shared(d.storage)]
    if spec.node != source.node and local:
        problems["node"] = (f"clone to another node needs the source on shared storage; "
                            f"its disks are on {local[0].storage} of {source.node}")
    needed: dict[str, int] = {}
    for disk in source.disks:
        name = spec.storage or disk.storage
        storage = sim.storage(name, spec.node)
        if storage is None:
            problems["storage"] = f"storage '{name}' does not exist on node '{spec.node}'"
            return problems
        if storage.shared and not sim.nodes[spec.node].storage_ok:
            problems["storage"] = f"storage '{name}' is not online on node '{spec.node}'"
        if not spec.full:
            if name != disk.storage:
                problems["storage"] = "a linked clone stays on the template's storage"
            elif not storage.linked_clones:
                problems["storage"] = (f"storage '{name}' ({storage.type}) cannot make "
                                       "linked clones: use a full clone")
        if spec.full and storage.type == "lvm":  # thick: allocated in full at once
            needed[name] = needed.get(name, 0) + disk.size
    usage = sim.usage()
    for name, size in needed.items():
        storage = sim.storage(name, spec.node)
        assert storage is not None
        free = storage.total - usage.get((name, storage.node), 0)
        if size > free:
            problems["storage"] = (f"not enough space on '{name}': needs {_fmt(size)}, "
                                   f"{_fmt(free)} free")
    return problems


def validate(sim: Sim, source: SimGuest, spec: CloneSpec) -> int:
    """Check a clone request; returns the new guest's vmid."""
    problems: dict[str, str] = {}
    if not DNS_NAME.match(spec.name):
        problems["name"] = "not a valid DNS name (letters, digits, '-', up to 63 characters)"
    vmid = spec.vmid if spec.vmid is not None else free_vmid(sim)
    if not MIN_VMID <= vmid <= MAX_VMID:
        problems["vmid"] = f"must be between {MIN_VMID} and {MAX_VMID}"
    if spec.node not in sim.nodes:
        problems["node"] = f"no node '{spec.node}'"
    elif not (sim.nodes[spec.node].alive and quorate(sim, spec.node)):
        problems["node"] = f"node '{spec.node}' is offline or without quorum"
    if not spec.full and not source.template:
        problems["full"] = "linked clones are made from templates only: use a full clone"
    if spec.snapshot is not None and spec.snapshot not in source.snapshots:
        problems["snapshot"] = f"{label(source)} has no snapshot '{spec.snapshot}'"
    if "node" not in problems:
        problems.update({k: v for k, v in _storage_problems(sim, source, spec).items()
                         if k not in problems})
    if problems:
        raise InvalidInput("clone refused: " + "; ".join(f"{k}: {v}" for k, v in
                                                         problems.items()), problems)
    if any(g.name == spec.name for g in sim.guests.values()):
        raise Conflict(f"a guest named '{spec.name}' already exists")
    if any(g.vmid == vmid for g in sim.guests.values()):
        raise Conflict(f"VM {vmid} already exists")
    return vmid


def clone(sim: Sim, source: SimGuest, spec: CloneSpec) -> TaskRecord:
    ensure_quorate(sim, source.node)
    if not source.template:
        ensure_free(source, sim)
        if spec.snapshot is None and sim.running_on_own_node(source) is not None:
            raise Conflict(f"{label(source)} is running: clone a stopped guest, or one of "
                           "its snapshots")
    vmid = validate(sim, source, spec)
    task = sim.new_task("clone", source.id, source.node)
    if not source.template:  # a template is read-only: many clones may copy it at once
        claim(sim, source, task)
    kind = source.kind
    disks = []
    for disk in source.disks:
        storage = spec.storage or disk.storage
        disks.append(SimDisk(disk.key, storage, disk.size,
                             None if sim.is_shared(storage) else spec.node))
    guest = SimGuest(
        id=f"{kind.value}/{vmid}", vmid=vmid, name=spec.name, kind=kind, node=spec.node,
        maxcpu=source.maxcpu, maxmem=source.maxmem, disks=disks, ip=free_ip(sim),
        mac=new_mac(sim.rng), uuid_number=new_uuid(sim.rng), load_index=len(sim.guests) + 10_000,
        tags=tuple(t for t in source.tags if t != "template"), lock="clone", busy=task.id,
        disk_used_fraction=source.disk_used_fraction if spec.full else 0.02,
        boot_seconds=source.boot_seconds, shutdown_seconds=source.shutdown_seconds,
        description=spec.description,
    )
    sim.guests[guest.id] = guest
    sim.volumes_changed()
    sim.touch(guest.id)
    what = "full" if spec.full else "linked"
    origin = f" from snapshot '{spec.snapshot}'" if spec.snapshot else ""
    task.log.append(f"create {what} clone of {label(source)}{origin} -> {label(guest)} on "
                    f"{spec.node}")
    task.result.update(new_id=guest.id, vmid=vmid)

    def done() -> None:
        release(sim, source, task)
        guest.lock = guest.busy = None
        sim.touch(guest.id)
        task.finish(sim.now)

    def failed(reason: str) -> None:
        if task.status.done:
            return
        task.log.append(f"clone failed: {reason}; removing the partially created "
                        f"{label(guest)} and its disks")
        sim.guests.pop(guest.id, None)
        sim.volumes_changed()
        sim.touch(guest.id)
        release(sim, source, task)
        task.finish(sim.now, TaskStatus.ERROR, reason)

    if not spec.full:
        task.progress_at = lambda now: (now - task.started) / LINKED_CLONE_SECONDS
        task.log.append("linked clone: a thin snapshot of the template's base volume")
        sim.after(LINKED_CLONE_SECONDS, _checked(sim, guest, done, failed))
        return task
    _copy_disks(sim, source, guest, task, done, failed)
    return task


def _checked(sim: Sim, guest: SimGuest, then: Callable[[], None],
             failed: Callable[[str], None]) -> Callable[[], None]:
    """`then`, unless the target lost its node or storage meanwhile."""
    def step() -> None:
        node = sim.nodes[guest.node]
        if not node.alive:
            failed(f"node '{guest.node}' went down")
        elif not node.storage_ok and any(sim.is_shared(d.storage) for d in guest.disks):
            failed(f"storage '{guest.disks[0].storage}' went offline on '{guest.node}'")
        else:
            then()
    return step


def _copy_disks(sim: Sim, source: SimGuest, guest: SimGuest, task: TaskRecord,
                done: Callable[[], None], failed: Callable[[str], None]) -> None:
    total = sum(d.size for d in guest.disks)
    speed = min(s.write_speed for s in sim.storages
                if any(d.storage == s.name for d in guest.disks))
    seconds = total / speed
    task.progress_at = lambda now: (now - task.started) / seconds
    task.log.append(f"copying {_fmt(total)} at {speed / 2**20:.0f} MiB/s "
                    f"(about {seconds:.0f} s)")
    for tenth in range(1, 11):
        def progress(tenth: int = tenth) -> None:
            if task.status.done:
                return
            task.log.append(f"transferred {_fmt(total * tenth / 10)} of {_fmt(total)} "
                            f"({tenth * 10:.2f}%)")
            if tenth == 10:
                done()
        sim.at(task.started + seconds * tenth / 10, _checked(sim, guest, progress, failed))


def convert_to_template(sim: Sim, guest: SimGuest) -> TaskRecord:
    if guest.template:
        raise Conflict(f"{label(guest)} is already a template")
    if guest.ha is not None:
        raise Conflict(f"{label(guest)} is HA managed: remove it from HA first")
    if sim.running_on_own_node(guest) is not None:
        raise Conflict(f"{label(guest)} is running: shut it down before converting it to "
                       "a template")
    task = begin(sim, guest, "template", "template", TEMPLATE_SECONDS)
    task.log.append(f"converting {label(guest)} to a template: its disks become read-only "
                    "base volumes; this cannot be undone")

    def converted() -> None:
        guest.template = True
        release(sim, guest, task)
        task.finish(sim.now)

    sim.after(TEMPLATE_SECONDS, converted)
    return task
