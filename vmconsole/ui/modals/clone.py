"""Clone: the form behind both "Clone" and "Create from template": a CloneSpec from a name,
an id (the next free one proposed), a target node and storage, full or linked, and for
a clone of a guest, the state to copy (the stopped guest itself or one of its
snapshots)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Checkbox, Input, Select, Static

from vmconsole.backends.base import Capabilities
from vmconsole.backends.clones import CloneSpec
from vmconsole.model import Guest, GuestKind, Inventory, Storage
from vmconsole.model.snapshots import Snapshot
from vmconsole.text import visible
from vmconsole.ui import formatting as fmt
from vmconsole.ui.modals import validate
from vmconsole.ui.modals.form import FormCheckbox, FormScreen, Submitter
from vmconsole.ui.widgets.plain_input import PlainInput

# Storage types on which Proxmox can make a linked clone (copy-on-write from a template).
LINKED_CLONE_TYPES = frozenset({"lvmthin", "zfspool", "rbd", "dir", "nfs", "cifs", "btrfs",
                                "glusterfs"})
SAME_STORAGE = "same as the source"
CURRENT_STATE = "\x00current"  # the Select value for "the guest as it is now"


@dataclass(frozen=True, slots=True)
class CloneSource:
    """What the form needs to know, read before it opens."""

    guest: Guest
    inventory: Inventory
    capabilities: Capabilities
    next_vmid: int | None
    snapshots: tuple[Snapshot, ...] = ()
    away: frozenset[str] = frozenset()  # nodes in maintenance: no new guests there

    def linked_possible(self) -> bool:
        """Linked clones come from templates, on storage that does copy-on-write."""
        return self.guest.template and self.linked_refusal() is None

    def linked_refusal(self) -> str | None:
        """Why a template gives no linked clone, and what a clone is instead, for the
        form (None: it gives one). Proxmox links a clone only on storage that does
        copy-on-write (`LINKED_CLONE_TYPES`; the manual's "Linked Clones"); a full clone
        copies every byte of the disks, at the storage's write speed."""
        if self.capabilities.linked_clone:
            by_name = {s.name: s for s in self.inventory.storages}
            storages = [by_name[n] for n in self.guest.storages if n in by_name]
            thick = [s for s in storages if s.type not in LINKED_CLONE_TYPES]
            if storages and not thick:
                return None
            why = (f"{', '.join(f'{visible(s.name)} ({visible(s.type)})' for s in thick)} "
                   "does no copy-on-write" if thick else "its disks' storage is not known")
        else:
            why = "this cluster's backend makes none"
        return (f"no linked clone: {why}. A full clone instead copies all "
                f"{fmt.size(self.guest.maxdisk)} of its disks: minutes, not seconds "
                "(the task log shows its progress)")


class CloneForm(FormScreen):
    SUBMIT_LABEL = "Clone"
    FIELD_FOR = {"full": "linked"}

    def __init__(self, title: str, source: CloneSource, submit: Submitter,
                 from_snapshots: bool = False, snapshot: str | None = None) -> None:
        super().__init__(title, submit)
        self.source = source
        self.from_snapshots = from_snapshots
        self.initial_snapshot = snapshot

    def fields(self) -> ComposeResult:
        src = self.source
        yield from self.row("Name", PlainInput(placeholder="e.g. web2", id="name", compact=True),
                            "name")
        if src.capabilities.vmids:
            yield from self.row("ID", PlainInput(str(src.next_vmid or ""), id="vmid",
                                            compact=True), "vmid")
        # Prompts as Text: a Select reads a str prompt as markup.
        nodes = [(Text(visible(n.name)), n.name) for n in src.inventory.nodes
                 if n.online and n.name not in src.away]
        online = {name for _, name in nodes}
        yield from self.row("Target node", Select(nodes, value=src.guest.node
                                                  if src.guest.node in online
                                                  else Select.NULL, id="node",
                                                  compact=True), "node")
        yield from self.row("Storage", Select(self._storage_options(src.guest.node),
                                              value=SAME_STORAGE, allow_blank=False,
                                              id="storage", compact=True), "storage")
        if self.from_snapshots:
            options = ([(Text("current state (stopped)"), CURRENT_STATE)]
                       if not src.guest.running else [])
            # only the snapshots the backend can clone (libvirt: a diskless guest's)
            options += [(Text(f"snapshot {visible(s.name)}"), s.name) for s in src.snapshots
                        if s.name != "current" and s.clone_refusal is None]
            initial = self.initial_snapshot if self.initial_snapshot else (
                options[0][1] if options else Select.NULL)
            note = "" if not src.guest.running else \
                "a running guest is cloned from one of its snapshots"
            yield from self.row("Copy", Select(options, value=initial, id="snapshot",
                                               compact=True), "snapshot", note)
        if src.linked_possible():
            yield from self.row("", FormCheckbox("Linked clone", id="linked", compact=True),
                                "linked", "copy-on-write from the template: near instant, "
                                "stays on the template's storage")
        elif src.guest.template and (refusal := src.linked_refusal()):
            yield Static(refusal, classes="note", id="note-linked", markup=False)

    def _storage_options(self, node: str | None) -> list[tuple[Text, str]]:
        """Storages on the node that hold this kind of guest's disks, with their free
        space: a full clone of a thick volume needs all of it at once."""
        content = "rootdir" if self.source.guest.kind is GuestKind.CT else "images"
        options = [(Text(SAME_STORAGE), SAME_STORAGE)]
        if node:
            options += [(Text(f"{visible(s.name)} ({visible(s.type)}"
                              f"{', shared' if s.shared else ''}, "
                              f"{fmt.size(s.total - s.used)} free)"), s.name)
                        for s in self.source.inventory.storages_for(node)
                        if s.active and content in s.content]
        return options

    def _target_storage(self, node: str, chosen: object) -> Storage | None:
        name = chosen if chosen != SAME_STORAGE else next(iter(self.source.guest.storages),
                                                          None)
        return next((s for s in self.source.inventory.storages_for(node) if s.name == name),
                    None)

    @on(Select.Changed, "#node")
    def _node_changed(self, event: Select.Changed) -> None:
        storage = self.query_one("#storage", Select)
        value = event.value if isinstance(event.value, str) else None
        storage.set_options(self._storage_options(value))
        storage.value = SAME_STORAGE

    @on(Checkbox.Changed, "#linked")
    def _linked_changed(self, event: Checkbox.Changed) -> None:
        storage = self.query_one("#storage", Select)
        if event.value:
            storage.value = SAME_STORAGE
        storage.disabled = event.value

    def collect(self) -> tuple[Any, dict[str, str]]:
        inventory = self.source.inventory
        errors: dict[str, str] = {}
        name = self.query_one("#name", Input).value.strip()
        if reason := validate.guest_name(name, inventory):
            errors["name"] = reason
        vmid: int | None = None
        if self.source.capabilities.vmids:
            text = self.query_one("#vmid", Input).value.strip()
            if reason := validate.vmid(text, inventory):
                errors["vmid"] = reason
            else:
                vmid = int(text)
        node = self.query_one("#node", Select).value
        if reason := validate.required(node if isinstance(node, str) else None,
                                       "target node"):
            errors["node"] = reason
        storage = self.query_one("#storage", Select).value
        snapshot: str | None = None
        if self.from_snapshots:
            chosen = self.query_one("#snapshot", Select).value
            if not isinstance(chosen, str):
                errors["snapshot"] = "choose the state to copy"
            elif chosen != CURRENT_STATE:
                snapshot = chosen
        linked = bool(self.query("#linked")) and self.query_one("#linked", Checkbox).value
        if not linked and isinstance(node, str) and (reason := validate.room_for(
                self.source.guest.maxdisk, self._target_storage(node, storage))):
            errors["storage"] = reason
        if errors:
            return None, errors
        return CloneSpec(name=name, node=str(node), vmid=vmid, full=not linked,
                         storage=None if storage == SAME_STORAGE else str(storage),
                         snapshot=snapshot), {}
