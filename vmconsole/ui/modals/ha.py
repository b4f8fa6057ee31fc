"""High availability: make a guest an HA resource or change it: the state the HA
manager keeps it in, where it may run (a group, or node affinity), and how often it
is restarted in place or relocated before the manager gives up. (vSphere HA, a restart
priority per VM, has its own form: `vsphere_ha.VSphereHAForm`.)"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Select

from vmconsole.backends.ha_config import HASettings
from vmconsole.model import Guest, HARequest, Inventory
from vmconsole.text import visible
from vmconsole.ui.labels import guest_title
from vmconsole.ui.modals import validate
from vmconsole.ui.modals.form import FormScreen, Submitter
from vmconsole.ui.widgets.plain_input import PlainInput

NO_GROUP = "\x00none"
MAX_TRIES = 10  # Proxmox's limit for max_restart and max_relocate
REQUEST_HELP = {
    HARequest.STARTED: "started: keep it running, recover it on another node",
    HARequest.STOPPED: "stopped: keep it stopped",
    HARequest.IGNORED: "ignored: leave it alone, as if not managed",
    HARequest.DISABLED: "disabled: stopped, and not recovered",
}


class HAForm(FormScreen):
    SUBMIT_LABEL = "Apply"

    def __init__(self, guest: Guest, inventory: Inventory, groups: list[str],
                 submit: Submitter) -> None:
        verb = "Change HA of" if guest.ha else "Make HA:"
        super().__init__(f"{verb} {guest_title(guest)}", submit)
        self.guest = guest
        self.node_names = [n.name for n in inventory.nodes]
        self.groups = groups

    def fields(self) -> ComposeResult:
        ha = self.guest.ha
        request = ha.request if ha else HARequest.STARTED
        yield from self.row("Requested", Select([(REQUEST_HELP[r], r.value) for r in HARequest],
                                                value=request.value, allow_blank=False,
                                                id="request", compact=True), "request")
        group = ha.group if ha and ha.group in self.groups else NO_GROUP
        # Prompts as Text: a Select reads a str prompt as markup.
        yield from self.row("Group", Select([(Text("none: node affinity below"), NO_GROUP)]
                                            + [(Text(visible(g)), g) for g in self.groups],
                                            value=group,
                                            allow_blank=False, id="group", compact=True),
                            "group")
        yield from self.row("Nodes", PlainInput(",".join(ha.nodes) if ha else "", compact=True,
                                           placeholder=",".join(map(visible, self.node_names)),
                                           id="nodes"), "nodes",
                            "preferred nodes, comma-separated, node:N for a priority "
                            "(pve1:2,pve2:1 tries pve1 first); empty: any node")
        yield from self.row("Max restart", PlainInput(str(ha.max_restart if ha else 1),
                                                 id="max_restart", compact=True),
                            "max_restart")
        yield from self.row("Max relocate", PlainInput(str(ha.max_relocate if ha else 1),
                                                  id="max_relocate", compact=True),
                            "max_relocate")

    def collect(self) -> tuple[Any, dict[str, str]]:
        group = self.query_one("#group", Select).value
        errors: dict[str, str] = {}
        nodes_text = self.query_one("#nodes", Input).value
        if reason := validate.node_names(nodes_text, self.node_names):
            errors["nodes"] = reason
        elif group != NO_GROUP and validate.split_names(nodes_text):
            errors["nodes"] = "a group already says where it runs: leave this empty"
        numbers: dict[str, int] = {}
        for name in ("max_restart", "max_relocate"):
            text = self.query_one(f"#{name}", Input).value.strip()
            if reason := validate.whole_number(text, 0, MAX_TRIES):
                errors[name] = reason
            else:
                numbers[name] = int(text)
        if errors:
            return None, errors
        return HASettings(
            request=HARequest(str(self.query_one("#request", Select).value)),
            group=None if group == NO_GROUP else str(group),
            nodes=validate.split_names(nodes_text), max_restart=numbers["max_restart"],
            max_relocate=numbers["max_relocate"]), {}
