"""Backups of a guest: take one now, list them, restore one, delete one.

A backend that can do so offers `SupportsBackups`. Proxmox's is vzdump (a `vzdump` UPID
task writing `vzdump-qemu-100-<time>.vma.zst` to a storage whose content includes
`backup`) and qmrestore/`pct restore` (`POST /nodes/{node}/qemu|lxc` with `archive=` or
`ostemplate=`+`restore=1`); libvirt's is the backup API (`virDomainBackupBegin`, push
mode: QEMU copies each disk to a file in a pool while the guest runs) and a restore
that defines a new guest on copies of those files. `options()` says what a guest's
backend offers, so the form offers only that; `problems()` is the one rule set for a
request, used by the form and by every backend before it calls its API.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from vmconsole.backends.base import InvalidInput, Task


class BackupMode(StrEnum):
    """vzdump's `mode` (pve-docs, "Backup modes")."""

    SNAPSHOT = "snapshot"  # live: the guest runs on while its disks are read
    SUSPEND = "suspend"  # the guest is paused for the copy (containers: rsync, then suspend)
    STOP = "stop"  # the guest is shut down for the copy and started again after


class Compression(StrEnum):
    """vzdump's `compress` (zstd is Proxmox's default since 7.0)."""

    ZSTD = "zstd"
    LZO = "lzo"
    GZIP = "gzip"
    NONE = "none"


MODE_MEANING = {
    BackupMode.SNAPSHOT: "live: the guest keeps running",
    BackupMode.SUSPEND: "the guest is paused during the copy",
    BackupMode.STOP: "the guest is shut down for the copy, then started again",
}


@dataclass(frozen=True, slots=True)
class Backup:
    """One backup of a guest. `id` is the backend's name for it (Proxmox's volid
    "local:backup/vzdump-qemu-100-2026_11_30-02_40_00.vma.zst"; libvirt's
    "<pool>/<name>"); `created` seconds since the epoch; `size` bytes; `mode` and
    `compression` as vzdump's words, "" when the backend does not say."""

    id: str
    guest_id: str
    storage: str
    node: str | None
    created: float
    size: int
    mode: str = ""
    compression: str = ""
    notes: str = ""


@dataclass(frozen=True, slots=True)
class BackupOptions:
    """What a guest's backups may be: the modes and compressions the backend offers,
    the storages of the guest's node that take backups (content includes `backup`;
    libvirt: a directory pool), and how a restore may go. `why_not` says why no backup
    can be taken now ("" when one can); `restore_overwrite_why_not` likewise for a
    restore over the guest (Proxmox: the guest must be stopped)."""

    modes: tuple[BackupMode, ...]
    compressions: tuple[Compression, ...]
    storages: tuple[str, ...]
    restore_ids: bool = True  # a restored guest gets a numeric id (Proxmox's vmid)
    restore_names: bool = False  # a restored guest gets a name from the form (libvirt)
    restore_overwrite: bool = True  # the backend can restore over the guest
    restore_overwrite_why_not: str = ""
    # What a restore over the guest replaces, for its question ("": Proxmox's, all of it)
    restore_overwrite_effect: str = ""
    restore_storages: tuple[str, ...] = ()  # the node's storages for the restored disks
    next_id: int | None = None
    why_not: str = ""


@dataclass(frozen=True, slots=True)
class BackupSpec:
    """A backup to take now."""

    storage: str
    mode: BackupMode = BackupMode.SNAPSHOT
    compression: Compression = Compression.ZSTD
    notes: str = ""


@dataclass(frozen=True, slots=True)
class RestoreSpec:
    """A restore of backup `backup` (a `Backup.id`): to a new guest (`vmid`, or `name`
    where the backend names guests), or over the guest it was taken of (`overwrite`);
    its disks to `storage` ("" where the backup had them; Proxmox's `storage`)."""

    backup: str
    vmid: int | None = None
    name: str = ""
    overwrite: bool = False
    storage: str = ""


def problems(options: BackupOptions, spec: BackupSpec) -> dict[str, str]:
    """Why a backup request cannot run, per field (mode, storage, compression)."""
    found: dict[str, str] = {}
    if options.why_not:
        found["mode"] = options.why_not
    elif spec.mode not in options.modes:
        found["mode"] = f"mode {spec.mode} is not offered here"
    if not options.storages:
        found["storage"] = "no storage of this node takes backups (content 'backup')"
    elif spec.storage not in options.storages:
        found["storage"] = f"storage '{spec.storage}' does not take backups on this node"
    if spec.compression not in options.compressions:
        found["compression"] = f"compression {spec.compression} is not offered here"
    return found


def restore_problems(options: BackupOptions, spec: RestoreSpec,
                     taken_ids: frozenset[int] = frozenset()) -> dict[str, str]:
    """Why a restore request cannot run, per field (vmid, name, overwrite). Proxmox's
    vmids run from 100 to 999999999 (pve-docs, "pve-vmid")."""
    found: dict[str, str] = {}
    if spec.storage and spec.storage not in options.restore_storages:
        found["storage"] = f"storage '{spec.storage}' holds no guest disks on this node"
    if spec.overwrite:
        if not options.restore_overwrite:
            found["overwrite"] = "this backend restores to a new guest only"
        elif options.restore_overwrite_why_not:
            found["overwrite"] = options.restore_overwrite_why_not
        return found
    if options.restore_ids:
        if spec.vmid is None or not 100 <= spec.vmid <= 999_999_999:
            found["vmid"] = "a new id between 100 and 999999999"
        elif spec.vmid in taken_ids:
            found["vmid"] = f"id {spec.vmid} is taken"
    if options.restore_names and not spec.name.strip():
        found["name"] = "a name for the new guest"
    return found


def check(options: BackupOptions, spec: BackupSpec) -> None:
    """Raise InvalidInput naming each field `problems()` refuses, before any API call."""
    if found := problems(options, spec):
        raise InvalidInput("backup refused: " + "; ".join(found.values()), found)


def check_restore(options: BackupOptions, spec: RestoreSpec,
                  taken_ids: frozenset[int] = frozenset()) -> None:
    """Raise InvalidInput naming each field `restore_problems()` refuses."""
    if found := restore_problems(options, spec, taken_ids):
        raise InvalidInput("restore refused: " + "; ".join(found.values()), found)


@runtime_checkable
class SupportsBackups(Protocol):
    """A guest's backups: take, list, restore, delete (each change a task)."""

    def backup_options(self, guest_id: str) -> BackupOptions:
        """What a backup of the guest may be. Raises NotFound, Unreachable."""
        ...

    def backups(self, guest_id: str) -> list[Backup]:
        """The guest's backups on every storage that takes them, newest first.
        Raises NotFound, Unreachable."""
        ...

    def backup(self, guest_id: str, spec: BackupSpec) -> Task:
        """Take a backup now. Raises InvalidInput (problems()), Conflict (locked)."""
        ...

    def backup_restore(self, guest_id: str, spec: RestoreSpec) -> Task:
        """Restore a backup of the guest to a new guest, or over the guest (stopped).
        Raises InvalidInput (restore_problems()), NotFound (backup), Conflict."""
        ...

    def backup_delete(self, guest_id: str, backup_id: str) -> Task:
        """Delete one backup of the guest. Raises NotFound."""
        ...
