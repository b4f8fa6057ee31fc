"""`f` on a node of the simulated cluster or the lab: break it the ways the lecture
discusses."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from vmconsole.backends.abilities import FaultKind
from vmconsole.text import visible
from vmconsole.ui.modals.dialog import Dialog
from vmconsole.ui.modals.moving_keys import ChoiceList
from vmconsole.ui.widgets.plain_input import PlainInput


@dataclass(frozen=True, slots=True)
class FaultChoice:
    """What the user picked: a fault on the node, a restore, or a partition."""

    fault: FaultKind | None = None  # None with restore/partition/admin
    # "reboot", "shutdown", "maintenance_on", "maintenance_off", or one for the HA stack:
    # "restart_lrm", "restart_crm", "skip_crm", "disarm_freeze", "disarm_ignore", "arm",
    # "cfs_fail", "cfs_work"
    admin: str | None = None
    restore: bool = False
    restore_all: bool = False
    partition: tuple[tuple[str, ...], ...] = ()


def parse_partition(text: str, nodes: list[str]) -> tuple[tuple[str, ...], ...]:
    """'pve1 | pve2 pve3' -> (('pve1',), ('pve2', 'pve3')); every node exactly once."""
    groups = tuple(tuple(part.replace(",", " ").split()) for part in text.split("|"))
    named = [n for group in groups for n in group]
    if len(groups) < 2 or any(not g for g in groups):
        raise ValueError("give at least two groups separated by '|', e.g. pve1 | pve2 pve3")
    unknown = list(dict.fromkeys(n for n in named if n not in nodes))  # as typed, once
    if unknown:
        raise ValueError(f"no such node: {', '.join(unknown)}")
    if sorted(named) != sorted(nodes):
        raise ValueError(f"name every node exactly once ({', '.join(nodes)})")
    return groups


class PartitionBox(PlainInput):
    """The groups of a partition; the key line says what Enter does here."""

    BINDINGS = [Binding("enter", "submit", "Partition")]


class FaultScreen(Dialog[FaultChoice | None]):
    DEFAULT_CSS = """
    FaultScreen { align: center middle; }
    FaultScreen > Vertical {
        width: 64; height: auto; max-height: 90%;
        border: round $error; background: $surface; padding: 0 1;
    }
    FaultScreen OptionList { height: auto; max-height: 12; }
    FaultScreen #partition { display: none; }
    FaultScreen #partition.visible { display: block; }
    FaultScreen .error { color: $error; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="faults.cancel")]

    def __init__(self, node: str, nodes: list[str], node_admin: bool = False,
                 ha_admin: bool = False) -> None:
        super().__init__()
        self.node, self.nodes, self.node_admin = node, nodes, node_admin
        self.ha_admin = ha_admin

    def compose(self) -> ComposeResult:
        n = visible(self.node)  # a node's name is data: shown with markup=False below
        options = [
            Option(f"Power off {n} (it dies at once)", id=FaultKind.POWER_OFF),
            Option(f"Cut {n}'s cluster network (it keeps running)", id=FaultKind.CUT_NETWORK),
            Option(f"Isolate {n} (alone, still running: watch it fence itself)",
                   id=FaultKind.ISOLATE),
            Option(f"Lose shared storage on {n}", id=FaultKind.LOSE_STORAGE),
            Option("Partition the cluster into groups…", id="partition"),
            Option(f"Restore {n}", id="restore"),
            Option("Restore everything", id="restore_all"),
        ]
        if self.node_admin:
            options += [
                Option(f"Reboot {n} as an admin would (its HA services follow the shutdown "
                       "policy: by default they freeze)", id="reboot"),
                Option(f"Shut down {n} as an admin would (by default its HA services fail "
                       "over after the fence delay)", id="shutdown"),
                Option(f"Maintenance mode on {n} (HA drains it by migration)",
                       id="maintenance_on"),
                Option(f"End maintenance on {n}", id="maintenance_off"),
            ]
        if self.ha_admin:
            options += [
                Option(f"Restart the LRM on {n} (its HA services freeze, running on)",
                       id="restart_lrm"),
                Option(f"Restart the CRM on {n} (a master hands its lock over)",
                       id="restart_crm"),
                Option("Let the CRM master skip a round", id="skip_crm"),
                Option("Disarm HA, freezing every service (fencing: standby)",
                       id="disarm_freeze"),
                Option("Disarm HA, ignoring every service (fencing: standby)",
                       id="disarm_ignore"),
                Option("Arm HA again", id="arm"),
                Option(f"Cluster file system fails on {n} (its HA stack stalls)",
                       id="cfs_fail"),
                Option(f"Cluster file system works again on {n}", id="cfs_work"),
            ]
        with Vertical():
            yield Label(Text.assemble("Break the cluster at ", (visible(n), "bold")))
            yield ChoiceList(*options, markup=False)
            example = " | ".join([self.nodes[0], " ".join(self.nodes[1:])])
            yield PartitionBox(placeholder=visible(example, limit=None), id="partition")
            yield Label("", id="partition-error", classes="error")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        choice = event.option.id
        if choice == "partition":
            box = self.query_one("#partition", Input)
            box.add_class("visible")
            box.focus()
        elif choice == "restore":
            self.dismiss(FaultChoice(restore=True))
        elif choice == "restore_all":
            self.dismiss(FaultChoice(restore_all=True))
        elif choice in ("reboot", "shutdown", "maintenance_on", "maintenance_off",
                        "restart_lrm", "restart_crm", "skip_crm", "disarm_freeze",
                        "disarm_ignore", "arm", "cfs_fail", "cfs_work"):
            self.dismiss(FaultChoice(admin=choice))
        else:
            self.dismiss(FaultChoice(fault=FaultKind(str(choice))))

    @on(Input.Submitted, "#partition")
    def _partition(self, event: Input.Submitted) -> None:
        try:
            groups = parse_partition(event.value, self.nodes)
        except ValueError as exc:
            self.query_one("#partition-error", Label).update(Text(visible(exc, limit=None)))
            return
        self.dismiss(FaultChoice(partition=groups))

    def action_cancel(self) -> None:
        self.dismiss(None)
