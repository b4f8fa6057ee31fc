"""Checks every operation makes before it starts, with Proxmox's reasons in plain words:
the guest's lock, the cluster's quorum, the storage a guest needs on a node."""

from __future__ import annotations

from vmconsole.backends.base import Conflict, NotSupported
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.membership import quorum_by_node
from vmconsole.backends.sim.state import SimGuest
from vmconsole.backends.sim.tasks import TaskRecord
from vmconsole.model import GuestKind, Quorum


def label(guest: SimGuest) -> str:
    kind = "VM" if guest.kind is GuestKind.VM else "CT"
    return f"{kind} {guest.vmid} ({guest.name})"


def claim(sim: Sim, guest: SimGuest, task: TaskRecord, lock: str | None = None) -> None:
    """Hold the guest for a task; a second conflicting operation is refused."""
    ensure_free(guest, sim)
    guest.busy = task.id
    guest.lock = lock
    sim.touch(guest.id)


def begin(sim: Sim, guest: SimGuest, operation: str, lock: str | None = None,
          seconds: float | None = None) -> TaskRecord:
    """A task on the guest's node that holds the guest; with `seconds`, its progress
    runs linearly over that time."""
    ensure_quorate(sim, guest.node)
    ensure_free(guest, sim)  # before the task exists: a refusal leaves no task behind
    task = sim.new_task(operation, guest.id, guest.node)
    claim(sim, guest, task, lock)
    if seconds is not None:
        task.progress_at = lambda now: (now - task.started) / seconds
    return task


def release(sim: Sim, guest: SimGuest, task: TaskRecord) -> None:
    if guest.busy == task.id:
        guest.busy = None
        guest.lock = None
        sim.touch(guest.id)


def ensure_free(guest: SimGuest, sim: Sim) -> None:
    """Refuse before a task is even created when the guest is held."""
    if guest.busy is not None or guest.lock is not None:
        held = sim.tasks.get(guest.busy) if guest.busy else None
        what = f"a {held.operation} task is running ({held.id})" if held else "it is locked"
        lock_note = f" (lock: {guest.lock})" if guest.lock else ""
        raise Conflict(f"{label(guest)} is busy: {what}{lock_note}. Wait for it to finish.")


def quorate(sim: Sim, node: str) -> bool:
    return quorate_in(quorum_by_node(sim), node)


def quorate_in(quorum: dict[str, Quorum], node: str) -> bool:
    """Whether `node` is in a quorate membership by `quorum` (`quorum_by_node`'s), which
    a check of many nodes reads once."""
    found = quorum.get(node)
    return found is not None and found.quorate


def ensure_quorate(sim: Sim, node: str) -> None:
    """Without quorum the cluster file system is read-only: nothing may change."""
    quorum = quorum_by_node(sim).get(node)
    if quorum is None:
        raise Conflict(f"node '{node}' is offline")
    if not quorum.quorate:
        raise Conflict(f"cluster not ready - no quorum? ('{node}' sees {quorum.votes} of "
                       f"{quorum.expected} votes; a majority is {quorum.expected // 2 + 1})")


def ensure_cluster_quorate(sim: Sim) -> None:
    """An HA request is written to the cluster file system by any node of the quorate
    membership, wherever the service's own node is (lost nodes included)."""
    quorum = quorum_by_node(sim)
    if not any(q.quorate for q in quorum.values()):
        best = max(quorum.values(), key=lambda q: q.votes, default=None)
        seen = f" (at most {best.votes} of {best.expected} votes)" if best else ""
        raise Conflict(f"cluster not ready - no quorum?{seen}")


def ensure_not_template(guest: SimGuest, action: str) -> None:
    if guest.template:
        raise NotSupported(f"{label(guest)} is a template: you can't {action} a template "
                           "(clone it first)")


def storage_error(sim: Sim, guest: SimGuest, node: str,
                  copying_local: bool = False) -> str | None:
    """Why `node` cannot reach one of the guest's disks, or None. A volume on local
    storage is only on its own node, unless a migration is `copying_local` it."""
    target = sim.nodes[node]
    for disk in guest.disks:
        storage = sim.storage(disk.storage, node)
        if storage is None:
            return f"storage '{disk.storage}' does not exist on node '{node}'"
        if storage.shared and not target.storage_ok:
            return f"storage '{disk.storage}' is not online on node '{node}'"
        if not storage.shared and disk.node != node and not copying_local:
            return (f"volume {disk.storage}:{disk.key} of {guest.id} is on {disk.node}'s "
                    f"local storage, not on '{node}'")
    return None
