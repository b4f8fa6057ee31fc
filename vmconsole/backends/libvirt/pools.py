"""The pools of one poll as the inventory shows them: one row per pool of a node, with
the reason libvirt stopped it kept for as long as it stays stopped.

A node's VMs' and containers' hosts may be one libvirtd, which then lists its pools
twice, each list read at its own moment on its own thread: one from before the refresh
that stopped a pool, one from after. libvirt gives the reason (`Failed to connect: ...`)
only to the refresh that failed (virStoragePoolRefresh stops the pool; an inactive pool
is not refreshed again), so that one read must win, and be remembered."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from vmconsole.model import Storage


def _says_more(read: Storage, held: Storage) -> bool:
    """Whether `read` says more of the pool than `held`: stopped beats running (a read
    may predate the refresh that stopped it), and a stopped pool's reason beats none."""
    return (not read.active, read.error is not None) > (not held.active, held.error is not None)


class PoolStates:
    """Why each pool stopped (by storage id, libvirt's message), kept while it stays
    stopped. Not thread-safe: one poll at a time (the backend's poll lock)."""

    def __init__(self) -> None:
        self._errors: dict[str, str] = {}

    def merge(self, read: Iterable[Storage]) -> tuple[Storage, ...]:
        """The pools of every host read in this poll, one row per storage id (in the
        order first read): stopped if any read found it stopped, with the reason the
        failed refresh gave, in this poll or an earlier one. A running pool forgets
        its reason."""
        by_id: dict[str, Storage] = {}
        for storage in read:
            held = by_id.get(storage.id)
            if held is None or _says_more(storage, held):
                by_id[storage.id] = storage
        out = []
        for storage in by_id.values():
            if storage.active:
                self._errors.pop(storage.id, None)
            elif storage.error:
                self._errors[storage.id] = storage.error
            elif (kept := self._errors.get(storage.id)) is not None:
                storage = replace(storage, error=kept)
            out.append(storage)
        return tuple(out)
