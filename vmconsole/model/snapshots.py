"""A guest's snapshots, as a backend's `snapshots(guest_id)` lists them: the snapshot
panel, the clone form and the snapshot flows read them, an inventory never holds one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One snapshot of a guest, in its tree (`parent`); `current`: the one "now" follows."""

    name: str
    parent: str | None
    created: float | None
    description: str = ""
    vmstate: bool = False
    current: bool = False
    quiesced: bool = False  # the guest's file systems were quiesced (vCenter)
    # Why no clone can be made of this snapshot, in the backend's terms; None: one can.
    clone_refusal: str | None = None
