"""The snapshot panel's operations on one guest: list, take (the form), roll back and
delete (each asked first), and clone from a snapshot, through the guest's flows
(`ui.flows.GuestFlows`: the role check, the runner, the audit)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING

from vmconsole.backends.base import Backend, Task
from vmconsole.model.snapshots import Snapshot
from vmconsole.operations import Outcome
from vmconsole.text import visible
from vmconsole.ui.guest_runner import GuestRunner
from vmconsole.ui.labels import guest_title

if TYPE_CHECKING:
    from vmconsole.ui.modals.snapshot_create import SnapshotRequest

# A clone of the guest from one of its snapshots (`GuestFlows.clone`): (title, snapshot).
CloneFrom = Callable[[str, str], Awaitable[Task | None]]


class SnapshotFlows:
    """The snapshot panel's operations, on the guest of `flows`."""

    def __init__(self, flows: GuestRunner, clone_from: CloneFrom) -> None:
        self.flows = flows
        self.clone_from = clone_from
        self.name = guest_title(flows.sel.guest)  # for titles and questions

    @property
    def may_change(self) -> bool:
        return self.flows.app.operations.allowed()

    async def load(self) -> list[Snapshot] | None:
        return await self.flows.query("snapshots", lambda b: b.snapshots(self.flows.gid))

    async def take(self, existing: list[str]) -> Task | None:
        sel = self.flows.sel
        if not self.flows.permitted("snapshot", f"Snapshot of {self.name}"):
            return None
        ram = sel.capabilities.snapshot_ram and sel.guest.running and sel.guest.kind == "qemu"

        quiesce = sel.capabilities.snapshot_quiesce and sel.guest.running

        def call(req: SnapshotRequest) -> Callable[[Backend], Task]:
            if req.quiesce:  # only backends with the capability take the keyword
                return lambda b: b.snapshot_create(self.flows.gid, req.name, req.description,
                                                   req.vmstate, quiesce=True)  # type: ignore[call-arg]
            return lambda b: b.snapshot_create(self.flows.gid, req.name, req.description,
                                               req.vmstate)

        async def submit(req: SnapshotRequest) -> Outcome:
            parameters = asdict(req)
            if not quiesce:
                del parameters["quiesce"]
            return await self.flows.run("snapshot", f"Snapshot {visible(req.name)} of {self.name}",
                                        call(req), parameters)

        from vmconsole.ui.modals.snapshot_create import SnapshotCreateForm

        task: Task | None = await self.flows.app.push_screen_wait(
            SnapshotCreateForm(self.name, existing, ram, submit, quiesce))
        return task

    async def rollback(self, snapshot: str) -> Task | None:
        return await self._confirmed(
            "rollback", f"Roll {self.name} back to {visible(snapshot)}", snapshot,
            f"Roll {self.name} back to snapshot {visible(snapshot)}?",
            "Every change made since that snapshot is lost.", "Roll back",
            lambda b: b.snapshot_rollback(self.flows.gid, snapshot))

    async def delete(self, snapshot: str) -> Task | None:
        return await self._confirmed(
            "delsnapshot", f"Delete snapshot {visible(snapshot)} of {self.name}", snapshot,
            f"Delete snapshot {visible(snapshot)} of {self.name}?",
            "It can no longer be rolled back to or cloned.", "Delete",
            lambda b: b.snapshot_delete(self.flows.gid, snapshot))

    async def _confirmed(self, operation: str, title: str, snapshot: str, question: str,
                         warning: str, yes: str, call: Callable[[Backend], Task]) -> Task | None:
        if not self.flows.permitted(operation, title):
            return None
        return await self.flows.confirmed_run(operation, title, question, warning, yes, call,
                                              {"snapshot": snapshot})

    async def clone(self, snapshot: str) -> Task | None:
        if not self.flows.permitted("clone", f"Clone {self.name}"):
            return None
        return await self.clone_from(f"Clone {self.name}", snapshot)
