"""vSphere HA for one VM: its restart priority, the one HA setting vSphere keeps per VM
(a VM override in its cluster's `dasVmConfig`). The cluster's own vSphere HA and DRS
settings are shown, not changed: vcsim, the only vCenter the tests reach, does not apply
a change to them (docs/vcenter.md), and the console offers nothing it cannot test."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Select, Static

from vmconsole.backends.ha_config import HASettings
from vmconsole.model import Guest, Inventory, RestartPriority
from vmconsole.model.vsphere import VSphereClusterConfig
from vmconsole.text import visible
from vmconsole.ui import vsphere_text
from vmconsole.ui.labels import guest_title
from vmconsole.ui.modals.form import FormScreen, Submitter

CLUSTER_DEFAULT = "\x00default"


class VSphereHAForm(FormScreen):
    SUBMIT_LABEL = "Apply"

    def __init__(self, guest: Guest, inventory: Inventory, submit: Submitter) -> None:
        super().__init__(f"vSphere HA of {guest_title(guest)}", submit)
        self.guest = guest
        cluster = inventory.container_of(guest.node)
        self.cluster_name = cluster.name if cluster is not None else "-"
        self.config = (cluster.vsphere if cluster is not None and cluster.vsphere
                       else VSphereClusterConfig())

    def fields(self) -> ComposeResult:
        config = self.config
        for name, label, value in (
                ("cluster", "Cluster", visible(self.cluster_name)),
                ("vsphere-ha", "vSphere HA", vsphere_text.ha_setting(config)),
                ("drs", "DRS", vsphere_text.drs_setting(config))):
            yield from self.row(label, Static(value, id=name, markup=False), name)
        yield Static("The cluster's vSphere HA and DRS are set in the vSphere Client.",
                     classes="note", markup=False)
        vm = self.guest.ha.vsphere if self.guest.ha is not None else None
        own = vm.restart_priority if vm is not None and vm.own else None
        default = config.default_restart_priority
        # Prompts as Text: a Select reads a str prompt as markup, and the default is
        # vCenter's word.
        yield from self.row("Restart priority", Select(
            [(Text(f"the cluster's default ({visible(default) if default else 'not reported'})"),
              CLUSTER_DEFAULT)]
            + [(Text(p.value), p.value) for p in RestartPriority],
            value=own if isinstance(own, RestartPriority) else CLUSTER_DEFAULT,
            allow_blank=False, id="restart_priority", compact=True), "restart_priority",
            "the order in which vSphere HA restarts VMs after a host fails; disabled "
            "leaves this VM down")

    def collect(self) -> tuple[Any, dict[str, str]]:
        chosen = self.query_one("#restart_priority", Select).value
        priority = None if chosen == CLUSTER_DEFAULT else RestartPriority(str(chosen))
        return HASettings(restart_priority=priority), {}
