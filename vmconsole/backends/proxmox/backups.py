"""A Proxmox guest's backups: vzdump, the backup volumes of its node's storages, restore
and removal, through the API.

- Back up: `POST /nodes/{node}/vzdump` (vmid, storage, mode, compress), a `vzdump` task.
- List: `GET /nodes/{node}/storage?content=backup&enabled=1`, then per storage
  `GET /nodes/{node}/storage/{storage}/content?content=backup&vmid=N` (volid, ctime,
  size, format, notes). The API does not say a backup's mode; the compression is the
  archive's extension.
- Restore: `POST /nodes/{node}/qemu` with `archive=<volid>` (qmrestore) or
  `POST /nodes/{node}/lxc` with `ostemplate=<volid>` and `restore=1` (pct restore); over
  the guest with `force=1`, which Proxmox refuses while the guest runs.
- Delete: `DELETE /nodes/{node}/storage/{storage}/content/{volid}`, an `imgdel` task.

Source: the PVE API viewer (nodes/{node}/vzdump, storage/{storage}/content, qemu, lxc).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vmconsole.backends.backups import (
    Backup,
    BackupMode,
    BackupOptions,
    BackupSpec,
    Compression,
    RestoreSpec,
    check,
    check_restore,
)
from vmconsole.backends.base import NotFound, Task
from vmconsole.backends.proxmox.answers import INTEGER, NUMBER, SIZE, TEXT, Records, read
from vmconsole.backends.proxmox.guest_ref import CURRENT
from vmconsole.backends.proxmox.inventory import RESOURCES
from vmconsole.backends.proxmox.tasks import ask_upid, ask_upid_if_any
from vmconsole.model import GuestKind

if TYPE_CHECKING:
    from vmconsole.backends.proxmox.backend import ProxmoxBackend
    from vmconsole.backends.proxmox.guest_ref import GuestRef

# The answers read here (`answers.read`): a node's storages, a storage's backup volumes.
STORAGES = Records({"storage": TEXT, "active": INTEGER}, required={"*": ("storage",)})
VOLUMES = Records({"volid": TEXT, "ctime": NUMBER, "size": SIZE, "notes": TEXT},
                  required={"*": ("volid",)})
# vzdump's `compress`: "0" is none (PVE::VZDump's option schema).
COMPRESS = {Compression.ZSTD: "zstd", Compression.LZO: "lzo", Compression.GZIP: "gzip",
            Compression.NONE: "0"}
EXTENSIONS = ((".zst", Compression.ZSTD), (".lzo", Compression.LZO),
              (".gz", Compression.GZIP))


def _storages(pve: ProxmoxBackend, node: str, content: str = "backup") -> tuple[str, ...]:
    found = read(pve.conn.call, f"/nodes/{node}/storage", STORAGES, content=content,
                 enabled=1)
    return tuple(sorted(str(s["storage"]) for s in found if s.get("active", 1)))


def options(pve: ProxmoxBackend, ref: GuestRef) -> BackupOptions:
    """What a backup of the guest may be on its node now."""
    status = read(pve.conn.call, f"{ref.path}/status/current", CURRENT)
    running = status["status"] == "running"
    return BackupOptions(
        modes=tuple(BackupMode), compressions=tuple(Compression),
        storages=_storages(pve, ref.node), next_id=pve.next_vmid(),
        restore_storages=_storages(
            pve, ref.node, "images" if ref.kind is GuestKind.VM else "rootdir"),
        why_not="a template is backed up by cloning it" if status.get("template") else "",
        restore_overwrite_why_not=(f"{ref.id} is running: stop it first (Proxmox restores "
                                   "over a stopped guest only)" if running else ""))


def compression_of(volid: str) -> str:
    """The compression a vzdump archive's name says (".vma.zst" is zstd)."""
    return next((str(c) for ext, c in EXTENSIONS if volid.endswith(ext)), str(Compression.NONE))


def listing(pve: ProxmoxBackend, ref: GuestRef) -> list[Backup]:
    """The guest's backups on every backup storage of its node, newest first."""
    found: list[Backup] = []
    for storage in _storages(pve, ref.node):
        items: list[dict[str, Any]] = read(
            pve.conn.call, f"/nodes/{ref.node}/storage/{storage}/content", VOLUMES,
            content="backup", vmid=ref.vmid)
        found += [Backup(id=str(i["volid"]), guest_id=ref.id, storage=storage, node=ref.node,
                         created=float(i.get("ctime") or 0), size=int(i.get("size") or 0),
                         compression=compression_of(str(i["volid"])),
                         notes=str(i.get("notes") or ""))
                  for i in items]
    return sorted(found, key=lambda b: -b.created)


def backup(pve: ProxmoxBackend, ref: GuestRef, spec: BackupSpec) -> Task:
    """Start vzdump of the guest."""
    check(options(pve, ref), spec)
    upid = ask_upid(pve.conn.call, "POST", f"/nodes/{ref.node}/vzdump", vmid=ref.vmid,
                    storage=spec.storage, mode=str(spec.mode),
                    compress=COMPRESS[spec.compression],
                    **({"notes-template": spec.notes} if spec.notes else {}))
    return pve._tracker.start(upid, "backup", ref.id, result={"storage": spec.storage})


def restore(pve: ProxmoxBackend, ref: GuestRef, spec: RestoreSpec) -> Task:
    """qmrestore or pct restore of one of the guest's backups."""
    if spec.backup not in {b.id for b in listing(pve, ref)}:
        raise NotFound(f"{ref.id} has no backup '{spec.backup}'")
    taken = frozenset(int(g["vmid"]) for g in
                      read(pve.conn.call, "/cluster/resources", RESOURCES, type="vm")
                      if g.get("type") in ("qemu", "lxc"))
    check_restore(options(pve, ref), spec, taken)
    vmid = ref.vmid if spec.overwrite else spec.vmid
    force = 1 if spec.overwrite else None
    if ref.kind is GuestKind.VM:
        upid = ask_upid(pve.conn.call, "POST", f"/nodes/{ref.node}/qemu", vmid=vmid,
                        archive=spec.backup, force=force, storage=spec.storage or None)
    else:
        upid = ask_upid(pve.conn.call, "POST", f"/nodes/{ref.node}/lxc", vmid=vmid,
                        ostemplate=spec.backup, restore=1, force=force,
                        storage=spec.storage or None)
    return pve._tracker.start(upid, "restore", ref.id,
                              result={"new_id": f"{ref.kind.value}/{vmid}"})


def delete(pve: ProxmoxBackend, ref: GuestRef, volid: str) -> Task:
    """Remove one backup volume of the guest."""
    found = next((b for b in listing(pve, ref) if b.id == volid), None)
    if found is None:
        raise NotFound(f"{ref.id} has no backup '{volid}'")
    upid = ask_upid_if_any(pve.conn.call, "DELETE",
                           f"/nodes/{ref.node}/storage/{found.storage}/content/{volid}")
    if upid is not None:
        return pve._tracker.start(upid, "delbackup", ref.id, result={"backup": volid})
    return pve._done("delbackup", ref, [f"removed {volid}"])
