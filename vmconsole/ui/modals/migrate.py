"""Migrate: the nodes a guest could go to, each marked allowed or with the reason it is
not (same node, node offline, not enough memory, local disks), and the mode the guest's
state implies: live for a running VM, offline for a stopped guest, restart for a
running container (containers cannot migrate live)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Checkbox, OptionList, Static
from textual.widgets.option_list import Option

from vmconsole.backends.base import MigrationMode, MigrationTarget
from vmconsole.model import Guest
from vmconsole.placement import migration_mode
from vmconsole.text import ELLIPSIS, visible
from vmconsole.ui.labels import guest_title
from vmconsole.ui.modals.form import FormCheckbox, FormScreen, Submitter
from vmconsole.ui.symbols import UNICODE, Symbols
from vmconsole.ui.table_fit import cut

# A node's name takes at most this many columns of its row: a libvirt host's name can be
# 60 characters or more, and ran into its reason ("…host-01not allowed") while the
# reason was cut at the list's edge (47 columns in the form at 80x24).
NODE_COLUMNS = 16

MODE_EXPLAINED = {
    MigrationMode.LIVE: "Live: the VM keeps running; memory is copied while it runs, then "
                        "it pauses for a short final copy (tens to hundreds of ms).",
    MigrationMode.OFFLINE: "Offline: the guest is stopped; its configuration (and any "
                           "local disks) move to the target.",
    MigrationMode.RESTART: "Restart: containers cannot migrate live. The container is "
                           "shut down, moved and started again on the target; it is down "
                           "for the transfer plus its boot.",
}


@dataclass(frozen=True, slots=True)
class MigrateRequest:
    node: str
    mode: MigrationMode
    with_local_disks: bool


def node_column(targets: list[MigrationTarget]) -> int:
    """The cells the targets' names take in their rows: the longest, at most
    `NODE_COLUMNS`."""
    return min(NODE_COLUMNS, max((Text(visible(t.node, None)).cell_len for t in targets),
                                 default=0))


def target_prompt(target: MigrationTarget, width: int, mark: str = ELLIPSIS) -> Text:
    """"pve1 not allowed: the guest is on this node": the node's name in a column of
    `width` cells, cut with `mark` (`Symbols.cut`) when longer, then whether it may take
    the guest and why, wrapped rather than cut (a reason may name a node, in full)."""
    text = cut(visible(target.node, None), width, mark)
    text.append(" " * (width - text.cell_len + 1))
    if target.allowed:
        text.append("allowed")
        if target.reason:  # e.g. "containers migrate in restart mode", "disks are copied"
            text.append(f": {visible(target.reason, limit=None)}")
        elif target.local_disks:
            text.append(f": copies local disks {', '.join(map(visible, target.local_disks))}")
    else:
        text.append(f"not allowed: {visible(target.reason, limit=None)}")
    return text


class MigrateForm(FormScreen):
    SUBMIT_LABEL = "Migrate"
    DEFAULT_CSS = """
    MigrateForm #node { height: auto; max-height: 8; width: 1fr; }
    MigrateForm #mode { color: $text-muted; margin-top: 1; }
    MigrateForm #row-with_local_disks { display: none; }
    MigrateForm #row-with_local_disks.shown { display: block; }
    """

    def __init__(self, guest: Guest, targets: list[MigrationTarget], submit: Submitter,
                 symbols: Symbols = UNICODE) -> None:
        super().__init__(f"Migrate {guest_title(guest)}", submit)
        self.guest = guest
        self._cut_mark = symbols.cut  # the end of a node's name cut to its column
        self.targets = {t.node: t for t in targets}
        self.mode = migration_mode(guest)

    def fields(self) -> ComposeResult:
        yield Static(MODE_EXPLAINED[self.mode], id="mode")
        width = node_column(list(self.targets.values()))
        options = [Option(target_prompt(t, width, self._cut_mark), id=t.node,
                          disabled=not t.allowed)
                   for t in self.targets.values()]
        yield from self.row("Target node", OptionList(*options, id="node"), "node")
        yield from self.row("", FormCheckbox("Copy local disks", id="with_local_disks",
                                         compact=True), "with_local_disks")

    def on_mount(self) -> None:
        targets = self.query_one("#node", OptionList)
        first = next((i for i, t in enumerate(self.targets.values()) if t.allowed), None)
        if first is not None:
            targets.highlighted = first
        targets.focus()

    def _chosen(self) -> MigrationTarget | None:
        targets = self.query_one("#node", OptionList)
        if targets.highlighted is None:
            return None
        option = targets.get_option_at_index(targets.highlighted)
        return self.targets.get(option.id or "")

    @on(OptionList.OptionHighlighted, "#node")
    def _target_changed(self) -> None:
        chosen = self._chosen()
        needs_disks = chosen is not None and bool(chosen.local_disks)
        self.query_one("#row-with_local_disks").set_class(needs_disks, "shown")
        self.query_one("#with_local_disks", Checkbox).value = needs_disks

    @on(OptionList.OptionSelected, "#node")
    def _target_selected(self) -> None:
        self.action_submit()

    def collect(self) -> tuple[Any, dict[str, str]]:
        chosen = self._chosen()
        if chosen is None:
            if not any(t.allowed for t in self.targets.values()):
                return None, {"node": f"no node may take {visible(self.guest.name)} now: "
                                      "see why above"}
            return None, {"node": "choose a target node"}
        if not chosen.allowed:
            return None, {"node": f"{visible(chosen.node)}: {chosen.reason}"}
        with_disks = bool(chosen.local_disks) and self.query_one(
            "#with_local_disks", Checkbox).value
        if chosen.local_disks and not with_disks:
            return None, {"with_local_disks": "the guest has local disks: they must be "
                                              "copied for it to move"}
        return MigrateRequest(chosen.node, self.mode, with_disks), {}
