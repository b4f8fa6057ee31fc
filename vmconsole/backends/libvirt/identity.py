"""Which row is which guest. A libvirt UUID is unique on one host, not in a cluster.

A guest's id is "vm/<UUID>": it survives renaming and migration, so the tree, the
selection and the ping monitor follow a migrating guest. Where one UUID is defined on
several hosts (what `virsh migrate --persistent` without `--undefinesource` leaves, or
one XML defined twice), each copy is a row of its own, "vm/<UUID>@<host>", flagged as
a duplicate, and every action addresses that host's copy. The incoming end of a
migration under way is not such a copy: it is left out until the migration ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from vmconsole.backends.base import NotFound
from vmconsole.model import Guest, Inventory
from vmconsole.model.duplicates import Duplicate

GUEST_PREFIX = "vm/"
ADVICE = ("a migration without --undefinesource leaves such a copy behind: undefine the "
          "one you do not need (virsh undefine on its host)")


def guest_id_of(uuid: str, host: str | None = None) -> str:
    """"vm/<UUID>", or "vm/<UUID>@<host>" for one of several copies."""
    return f"{GUEST_PREFIX}{uuid}" if host is None else f"{GUEST_PREFIX}{uuid}@{host}"


def parse_guest_id(guest_id: str) -> tuple[str, str | None]:
    """(UUID, host) of a guest id; host is None for "vm/<UUID>". Raises NotFound for
    an id that is not a libvirt guest's. A UUID holds no "@", a host name may."""
    if not guest_id.startswith(GUEST_PREFIX):
        raise NotFound(f"{guest_id!r} is not a libvirt guest id (vm/<UUID>)")
    uuid, at, host = guest_id[len(GUEST_PREFIX):].partition("@")
    return uuid, (host if at else None)


@dataclass(frozen=True, slots=True)
class Row:
    """One domain as one host defines it, with its id still "vm/<UUID>"."""

    guest: Guest
    migrating: bool = False  # paused for a migration (DomainReading.migrating)
    # Not read this poll: what an unreachable host defined when it last answered.
    remembered: bool = False

    @property
    def uuid(self) -> str:
        return self.guest.id[len(GUEST_PREFIX):]  # "vm/<UUID>": no host part yet


def identify(rows: Iterable[Row], before: Inventory, moving: set[str],
             placed: Mapping[str, str] | None = None) -> list[Guest]:
    """The cluster's guests with ids unique in it, in the order of `rows`.

    A UUID on several hosts is a migration under way when a copy is paused for one or
    the console's own migration task holds it (`moving`: UUIDs): then only the copies
    on nodes where `before` showed it stay (the other end is on its way in), so the
    guest keeps its id. A guest an HA manager recovered (`placed`: UUID -> the node
    the manager put it on) is its one copy read on that node: the copies remembered
    from unreachable hosts are the dead node's, which the manager removes when it
    returns (Proxmox's recovery moves the guest's config, so it is listed once too).
    Copies that remain are duplicates, each "vm/<UUID>@<host>".
    """
    rows = list(rows)
    # Each row's id is "vm/<UUID>" still: distinct ids, no UUID on two hosts, and each
    # row is its guest as is (one set of ids, not a dict of lists: 2,000 rows a host,
    # every poll).
    if len({row.guest.id for row in rows}) == len(rows):
        return [row.guest for row in rows]
    by_uuid: dict[str, list[Row]] = {}
    for row in rows:
        by_uuid.setdefault(row.uuid, []).append(row)
    seen: dict[str, set[str]] = {}
    for guest in before.guests:
        seen.setdefault(parse_guest_id(guest.id)[0], set()).add(guest.node)
    placed = placed or {}
    for uuid, copies in by_uuid.items():
        if len(copies) > 1 and (uuid in moving or any(r.migrating for r in copies)):
            by_uuid[uuid] = ([r for r in copies if r.guest.node in seen.get(uuid, ())]
                             or [r for r in copies if not r.migrating] or copies[:1])
        read = [r for r in copies if not r.remembered]
        if len(copies) > 1 and len(read) == 1 and read[0].guest.node == placed.get(uuid):
            by_uuid[uuid] = read
    out = []
    for row in rows:
        copies = by_uuid[row.uuid]
        if not any(r is row for r in copies):
            continue
        if len(copies) == 1:
            out.append(row.guest)
            continue
        others = [r.guest for r in copies if r is not row]
        out.append(replace(row.guest, id=guest_id_of(row.uuid, row.guest.node),
                           duplicate=Duplicate(
                               "UUID", row.uuid,
                               tuple(guest_id_of(row.uuid, o.node) for o in others),
                               tuple(o.node for o in others), ADVICE)))
    return out
