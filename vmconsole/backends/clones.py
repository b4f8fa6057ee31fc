"""A clone of a guest, a template or a snapshot: what `Backend.clone` is asked for, as the
clone and create-from-template forms fill it in (creating from a template is a clone of
it). Every backend makes the copy its own way (`backends/sim/clones.py`, libvirt's
`clone.py`, Proxmox's `/clone`, vCenter's `CloneVM_Task`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CloneSpec:
    """A clone of a guest or template; creating from a template is a clone of it."""

    name: str
    node: str
    storage: str | None = None  # None: the source's storage
    vmid: int | None = None  # None: the next free id (where the backend has ids)
    full: bool = True  # False: a linked clone (templates on storage that allows it)
    snapshot: str | None = None  # clone the state of this snapshot
    description: str = ""
