"""vSphere HA's one per-VM setting, its restart priority: what `ha_set` accepts, and the
cluster reconfiguration that sets it.

vSphere API reference: `ClusterDasVmConfigSpec` (an `add` or `edit` of a VM's entry in
the cluster's `configurationEx.dasVmConfig`), `ClusterDasVmSettings.restartPriority`
(disabled, lowest … highest, or clusterRestartPriority: the cluster's default), applied
by `ClusterComputeResource.ReconfigureComputeResource_Task(spec, modify=True)`.
"""

from __future__ import annotations

from typing import Any

from pyVmomi import vim

from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.vcenter.inventory import CLUSTER_DEFAULT
from vmconsole.model import HARequest, RestartPriority


def refusals(settings: HASettings) -> dict[str, str]:
    """The reason per field for each setting vSphere HA does not have (the Proxmox HA
    manager's requested state, group, nodes and restart counts); empty when none."""
    wrong = {}
    if settings.request is not HARequest.STARTED:
        wrong["request"] = ("vSphere HA keeps no requested state: a restart priority of "
                            "disabled leaves the VM down")
    if settings.group is not None:
        wrong["group"] = "vSphere HA has no HA groups"
    if settings.nodes:
        wrong["nodes"] = "vSphere places restarted VMs by its VM-host rules"
    for name in ("max_restart", "max_relocate"):
        if getattr(settings, name) != 1:
            wrong[name] = "vSphere HA has no per-VM restart or relocate count"
    if settings.restart_priority is not None and not isinstance(
            settings.restart_priority, RestartPriority):
        wrong["restart_priority"] = "one of " + ", ".join(p.value for p in RestartPriority)
    return wrong


def override_spec(vm: Any, listed: bool, priority: RestartPriority | None) -> Any:
    """The `ClusterConfigSpecEx` that sets the VM's restart priority (None: back to the
    cluster's default). `listed`: the VM has an entry in `dasVmConfig` already (edited,
    else added). Dropping an override is an edit back to the cluster's default, not a
    "remove" (whose removeKey vcsim cannot read): the same for vSphere HA."""
    info = vim.cluster.DasVmConfigInfo(key=vm, dasSettings=vim.cluster.DasVmSettings(
        restartPriority=str(priority or CLUSTER_DEFAULT)))
    entry = vim.cluster.DasVmConfigSpec(operation="edit" if listed else "add", info=info)
    return vim.cluster.ConfigSpecEx(dasVmConfigSpec=[entry])


__all__ = ["override_spec", "refusals"]
