"""What a Proxmox cluster's changes put on the console's timeline: migrations ended
(with the downtime QEMU reported), nodes lost or back, quorum lost or regained."""

from __future__ import annotations

from vmconsole.backends.base import Task, TaskStatus
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.journal import EventJournal
from vmconsole.model import Inventory


def migration_event(journal: EventJournal, task: Task) -> None:
    """An ended migration task on the timeline, with the pause QEMU reported; any other
    task adds nothing."""
    if task.operation != "migrate":
        return
    target = task.result.get("target", "?")
    if task.status is TaskStatus.ERROR:
        journal.add(EventKind.MIGRATION_FAILED,
                    f"{task.target} did not migrate to {target}: "
                    f"{task.error}", node=task.node, guest=task.target)
        return
    downtime = task.result.get("downtime_ms")
    paused = f" (downtime {downtime:g} ms)" if isinstance(downtime, float) else ""
    journal.add(EventKind.MIGRATED, f"{task.target} migrated to {target}{paused}",
                node=task.node, guest=task.target)


def inventory_events(journal: EventJournal, cluster: str, before: Inventory | None,
                     after: Inventory) -> None:
    """Nodes lost or back and quorum changes between two polls of `cluster`, on the
    timeline (`before` None: the first poll, where only a missing quorum is news)."""
    if before is None:
        if after.quorum is not None and not after.quorum.quorate:
            journal.add(EventKind.QUORUM_LOST, f"{cluster} has no quorum")
        return
    for node in after.nodes:
        old = before.node(node.name)
        if old is not None and old.online != node.online:
            kind = EventKind.NODE_ONLINE if node.online else EventKind.NODE_LOST
            journal.add(kind, f"{node.name} is {node.status.value}", node=node.name)
    was = before.quorum.quorate if before.quorum else True
    now = after.quorum.quorate if after.quorum else True
    if was != now:
        journal.add(EventKind.QUORUM_REGAINED if now else EventKind.QUORUM_LOST,
                    f"{cluster} {'is quorate again' if now else 'lost quorum'}")
