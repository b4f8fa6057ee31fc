"""Back up now (mode, storage, compression) and restore (to a new id or name, or over
the guest): the two forms of the backup panel. Each offers only what the guest's
backend offers (`BackupOptions`) and checks with `backends.backups`' own rules."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, RadioSet, Select

from vmconsole.backends.backups import (
    MODE_MEANING,
    Backup,
    BackupMode,
    BackupOptions,
    BackupSpec,
    Compression,
    RestoreSpec,
    problems,
    restore_problems,
)
from vmconsole.model import Inventory
from vmconsole.text import visible
from vmconsole.ui.modals import validate
from vmconsole.ui.modals.form import FormRadioButton, FormRadioSet, FormScreen, Submitter
from vmconsole.ui.widgets.plain_input import PlainInput


class BackupForm(FormScreen):
    SUBMIT_LABEL = "Back up"

    def __init__(self, guest: str, options: BackupOptions, submit: Submitter) -> None:
        """`guest` as titles name it (`labels.guest_title`)."""
        super().__init__(f"Back up {guest}", submit)
        self.options = options

    def fields(self) -> ComposeResult:
        opts = self.options
        # Prompts as Text: a Select reads a str prompt as markup.
        # No blank entry where there is a real choice: arrowed to, it showed nothing and
        # submitted the first mode all the same.
        modes = [(Text(f"{m} ({MODE_MEANING[m]})"), m) for m in opts.modes]
        yield from self.row("Mode", Select(modes, value=opts.modes[0] if opts.modes
                                           else Select.NULL, allow_blank=not modes,
                                           id="mode", compact=True),
                            "mode", opts.why_not)
        storages = [(Text(visible(s)), s) for s in opts.storages]
        yield from self.row("Storage", Select(storages, value=opts.storages[0] if storages
                                              else Select.NULL, allow_blank=not storages,
                                              id="storage", compact=True),
                            "storage", "" if storages else
                            "no storage of this node takes backups (content 'backup')")
        compressions = [(Text(str(c)), c) for c in opts.compressions]
        yield from self.row("Compression", Select(
            compressions, value=opts.compressions[0] if compressions else Select.NULL,
            allow_blank=False, id="compression", compact=True), "compression")

    def collect(self) -> tuple[Any, dict[str, str]]:
        mode = self.query_one("#mode", Select).value
        storage = self.query_one("#storage", Select).value
        compression = self.query_one("#compression", Select).value
        spec = BackupSpec(
            storage=storage if isinstance(storage, str) else "",
            mode=BackupMode(mode) if isinstance(mode, str) else BackupMode.SNAPSHOT,
            compression=Compression(compression) if isinstance(compression, str)
            else Compression.NONE)
        if errors := problems(self.options, spec):
            return None, errors
        return spec, {}


NEW = "new"
OVERWRITE = "overwrite"
AS_BACKED_UP = "where the backup had them"


class RestoreForm(FormScreen):
    SUBMIT_LABEL = "Restore"

    def __init__(self, guest: str, backup: Backup, options: BackupOptions,
                 inventory: Inventory, submit: Submitter) -> None:
        super().__init__(f"Restore {guest}", submit)
        self.backup = backup
        self.options = options
        self.inventory = inventory

    def fields(self) -> ComposeResult:
        opts = self.options
        yield from self.row("Backup", PlainInput(visible(self.backup.id), id="backup",
                                            disabled=True, compact=True), "backup")
        buttons = [FormRadioButton("to a new guest", value=True, id=f"{NEW}-choice")]
        if opts.restore_overwrite:
            buttons.append(FormRadioButton("over the guest (asks first)",
                                           id=f"{OVERWRITE}-choice",
                                           disabled=bool(opts.restore_overwrite_why_not)))
        yield from self.row("Restore", FormRadioSet(*buttons, id="overwrite", compact=True),
                            "overwrite", opts.restore_overwrite_why_not)
        if opts.restore_ids:
            yield from self.row("New ID", PlainInput(str(opts.next_id or ""), id="vmid",
                                                compact=True), "vmid")
        if opts.restore_names:
            yield from self.row("New name", PlainInput(placeholder="e.g. web1-restored",
                                                  id="name", compact=True), "name")
        if opts.restore_storages:
            storages = [(Text(AS_BACKED_UP), "")] + [(Text(visible(s)), s)
                                                     for s in opts.restore_storages]
            yield from self.row("Disks to", Select(storages, value="", allow_blank=False,
                                                   id="storage", compact=True), "storage")

    def _overwrite(self) -> bool:
        pressed = self.query_one(RadioSet).pressed_button
        return pressed is not None and pressed.id == f"{OVERWRITE}-choice"

    @on(RadioSet.Changed)
    def _target_changed(self) -> None:
        for field in ("#vmid", "#name"):
            for widget in self.query(field):
                widget.disabled = self._overwrite()

    def _storage(self) -> str:
        chosen = self.query("#storage")
        value = chosen.first(Select).value if chosen else ""
        return value if isinstance(value, str) else ""

    def collect(self) -> tuple[Any, dict[str, str]]:
        if self._overwrite():
            over = RestoreSpec(self.backup.id, overwrite=True, storage=self._storage())
            refused = restore_problems(self.options, over)
            return (None, refused) if refused else (over, {})
        errors: dict[str, str] = {}
        vmid: int | None = None
        if self.options.restore_ids:
            text = self.query_one("#vmid", Input).value.strip()
            if reason := validate.vmid(text, self.inventory):
                errors["vmid"] = reason
            else:
                vmid = int(text)
        name = ""
        if self.options.restore_names:
            name = self.query_one("#name", Input).value.strip()
            if reason := validate.guest_name(name, self.inventory):
                errors["name"] = reason
        if errors:
            return None, errors
        spec = RestoreSpec(self.backup.id, vmid=vmid, name=name, storage=self._storage())
        refused = restore_problems(self.options, spec)
        return (None, refused) if refused else (spec, {})
