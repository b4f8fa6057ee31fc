"""A restore over a libvirt guest: its disks replaced by copies of a backup's, while it
is shut off; its name, UUID, MACs, hardware and metadata stay.

Nothing is lost if it fails midway: each backed-up disk is first copied to a new volume
(`virStorageVolCreateXMLFrom`), and only when every copy is done is the definition
swapped to them (`virDomainDefineXML`, same UUID). A failure before the swap removes the
copies and leaves the guest as it was. After the swap, each old volume is deleted where
deleting the guest would delete it (`removal.plan`: its own alone); one that another
guest uses, or that libvirt cannot delete, stays, and the task says why.

A copy goes to the pool of the disk it replaces when that is a file pool, else (a LUN)
to the backup's pool. A guest with snapshots is refused: they live in the disks being
replaced (backups.options says so before any form is filled).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import libvirt

from vmconsole.backends.backups import RestoreSpec, check_restore
from vmconsole.backends.base import BackendError, Conflict, InvalidInput, Task
from vmconsole.backends.libvirt import removal
from vmconsole.backends.libvirt.backups import (
    STAMP,
    backup_parts,
    disk_files,
    disk_target,
    options,
    pool_volumes,
    remove_volumes,
)
from vmconsole.backends.libvirt.clone import COPY_TIMEOUT_S
from vmconsole.backends.libvirt.cluster import ClusterCore
from vmconsole.backends.libvirt.domainxml import NewDisk, parse_domain, with_disks
from vmconsole.backends.libvirt.tasks import TaskContext


def _copy(pool: str, source: str, target_pool: str, name: str,
          conn: libvirt.virConnect) -> None:
    src = conn.storagePoolLookupByName(pool).storageVolLookupByName(source)
    conn.storagePoolLookupByName(target_pool).createXMLFrom(
        f"<volume><name>{name}</name><capacity unit='bytes'>{src.info()[1]}</capacity>"
        "<target><format type='qcow2'/></target></volume>", src, 0)


def over(core: ClusterCore, guest_id: str, spec: RestoreSpec) -> Task:
    """Replace the shut-off guest's disks by a backup's (SupportsBackups.backup_restore
    with `overwrite`). Raises InvalidInput (running, snapshots, a backed-up disk the
    guest no longer has), NotFound (the backup)."""
    check_restore(options(core, guest_id), spec)
    host, pool, prefix = backup_parts(core, guest_id, spec.backup)
    _host, dom = core.locate(guest_id)
    name, uuid = dom.name(), dom.UUIDString()
    xml = host.call(lambda _c: dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE),
                    f"reading {name}")
    current = {d.target for d in parse_domain(xml).image_disks}
    files = {disk_target(prefix, n)[0]: n for n in disk_files(pool_volumes(host, pool), prefix)}
    if missing := sorted(set(files) - current):
        why = (f"{name} has no disk {', '.join(missing)} now: the backup's disks no longer "
               "match; restore it to a new guest")
        raise InvalidInput(f"restore refused: {why}", {"overwrite": why})
    fates = {f.disk: f for f in removal.plan(core, guest_id).disks}
    storage = removal.read_storage(host)
    stamp = datetime.now(UTC).strftime(STAMP)

    def place(target: str) -> str:
        """The pool the copy for `target` goes to."""
        old = storage.by_path.get(storage.by_name.get(fates[target].volume, fates[target].volume))
        return old.pool if old is not None and old.pool_type in removal.FILE_POOLS else pool

    def work(ctx: TaskContext) -> None:
        made: list[tuple[str, str]] = []
        new_disks: dict[str, NewDisk] = {}
        steps = len(files) + 1
        try:
            for done, (target, source) in enumerate(sorted(files.items())):
                into, copy = place(target), f"{name}-{target}.restore-{stamp}.qcow2"
                ctx.log(f"copying {source} to {into}/{copy} for {target}")
                host.call(partial(_copy, pool, source, into, copy), f"copying {source}",
                          timeout=COPY_TIMEOUT_S)
                made.append((into, copy))
                new_disks[target] = NewDisk("qcow2", pool=into, volume=copy)
                ctx.progress((done + 1) / steps)
            # Started meanwhile (by hand, by an HA manager): its disks are in use.
            if host.call(lambda _c: dom.isActive(), f"reading {name}"):
                raise Conflict(f"{name} was started during the restore: its disks were "
                               "not replaced")
            new_xml = with_disks(xml, new_disks)
            host.call(lambda c: c.defineXML(new_xml), f"redefining {name} on the copies")
        except Exception:
            for into, copy in made:
                for gone in remove_volumes(host, into, frozenset({copy}).__contains__):
                    ctx.log(f"removed the copy {into}/{gone}; {name} is as it was")
            raise
        core.defined(host, uuid)
        ctx.log(f"{name} now uses the restored disks ({', '.join(sorted(new_disks))})")
        failed = []
        for target in sorted(files):
            fate = fates[target]
            if not fate.removable:
                ctx.log(f"kept the old {target} ({fate.volume}): {fate.why_kept}")
                continue
            old_pool, _, old_name = fate.volume.partition("/")
            try:
                remove_volumes(host, old_pool, frozenset({old_name}).__contains__)
            except BackendError as exc:
                failed.append(f"{fate.volume}: {exc.message}")
            else:
                ctx.log(f"deleted the old {target} ({fate.volume})")
        if failed:
            ctx.warning = True
            ctx.log(f"the old volume(s) could not be deleted: {'; '.join(failed)}")

    return core.tasks_book.run("restore", guest_id, host.name, work, lock=(guest_id,))
