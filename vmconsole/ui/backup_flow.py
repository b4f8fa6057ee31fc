"""`b` on a guest: the backup panel, and what its keys do. Every change (back up now,
restore, delete) goes through the runner (role and read-only checks, audit record, task
log); a restore over the guest and a delete are asked first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict

from vmconsole.backends.backups import (
    Backup,
    BackupOptions,
    BackupSpec,
    RestoreSpec,
    SupportsBackups,
)
from vmconsole.backends.base import Backend, NotSupported, Task
from vmconsole.operations import Outcome
from vmconsole.text import visible
from vmconsole.ui.guest_flow import GuestFlow
from vmconsole.ui.labels import guest_title


def backups_of(backend: Backend) -> SupportsBackups:
    """The backend's backups, or NotSupported in words for people."""
    if not isinstance(backend, SupportsBackups):
        raise NotSupported(f"{backend.name} keeps no backups")
    return backend


class BackupFlows:
    """The backup panel's operations, on the guest of a GuestFlow."""

    def __init__(self, flows: GuestFlow) -> None:
        self.flows = flows
        self.gid = flows.gid
        self.name = guest_title(flows.sel.guest)  # for titles and questions

    @property
    def may_change(self) -> bool:
        return self.flows.app.operations.allowed()

    async def load(self) -> list[Backup] | None:
        return await self.flows.query("backups", lambda b: backups_of(b).backups(self.gid))

    async def options(self) -> BackupOptions | None:
        return await self.flows.query("backup options",
                                      lambda b: backups_of(b).backup_options(self.gid))

    async def take(self) -> Task | None:
        title = f"Back up {self.name}"
        if not self.flows.permitted("backup", title):
            return None
        options = await self.options()
        if options is None:
            return None

        async def submit(spec: BackupSpec) -> Outcome:
            return await self.flows.run(
                "backup", f"{title} to {visible(spec.storage)}",
                lambda b: backups_of(b).backup(self.gid, spec),
                {"storage": spec.storage, "mode": str(spec.mode),
                 "compression": str(spec.compression)})

        from vmconsole.ui.modals.backup_forms import BackupForm

        task: Task | None = await self.flows.app.push_screen_wait(
            BackupForm(self.name, options, submit))
        return task

    async def restore(self, backup: Backup) -> Task | None:
        title = f"Restore {self.name}"
        if not self.flows.permitted("restore", title):
            return None
        options = await self.options()
        if options is None:
            return None

        async def submit(spec: RestoreSpec) -> Outcome:
            if spec.overwrite and not await self.flows.confirm(
                    title, f"Restore {self.name} from {visible(backup.id)}, over the guest?",
                    options.restore_overwrite_effect or
                    "Its disks and configuration are replaced by the backup's: every change "
                    "made since the backup, and every snapshot, is lost.", "Overwrite"):
                return Outcome(message="not restored: you answered No")
            what = "over the guest" if spec.overwrite else (
                f"as {spec.vmid}" if spec.vmid is not None else f"as {visible(spec.name)}")
            return await self.flows.run(
                "restore", f"{title} {what}",
                lambda b: backups_of(b).backup_restore(self.gid, spec), asdict(spec))

        from vmconsole.ui.modals.backup_forms import RestoreForm

        task: Task | None = await self.flows.app.push_screen_wait(
            RestoreForm(self.name, backup, options, self.flows.sel.inventory, submit))
        return task

    async def delete(self, backup: Backup) -> Task | None:
        title = f"Delete a backup of {self.name}"
        if not self.flows.permitted("delbackup", title):
            return None
        if not await self.flows.confirm(
                title, f"Delete backup {visible(backup.id)} of {self.name}?",
                "It can no longer be restored.", "Delete"):
            return None
        outcome = await self.flows.run(
            "delbackup", title, lambda b: backups_of(b).backup_delete(self.gid, backup.id),
            {"backup": backup.id})
        return outcome.task


async def open_backups(flows: GuestFlow, polled_tasks: Callable[[], Sequence[Task]]) -> None:
    """Show the guest's backup panel until it is closed."""
    from vmconsole.ui.modals.backups import BackupPanel

    await flows.app.push_screen_wait(BackupPanel(flows.sel.guest, BackupFlows(flows),
                                                 polled_tasks))
