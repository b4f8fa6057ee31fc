"""vSphere HA and DRS in words, for the detail pane and the HA form.

The terms are vSphere's (vSphere Availability guide, "VM restart priority"; vSphere
Resource Management guide, "DRS automation level"); what a value means follows those
guides. A setting vCenter does not report is said to be so, never shown as off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmconsole.model import (
    Guest,
    HAConfig,
    HARequest,
    HAState,
    RestartPriority,
)
from vmconsole.text import visible

if TYPE_CHECKING:
    from vmconsole.model.containers import Container
    from vmconsole.model.vsphere import VSphereClusterConfig

# DrsBehavior (vSphere API reference), as the vSphere Client names the automation levels.
DRS_BEHAVIOR = {
    "manual": "manual: recommends placements and migrations, an admin applies them",
    "partiallyAutomated": "partially automated: places VMs at power-on, recommends "
                          "migrations",
    "fullyAutomated": "fully automated: places VMs and migrates them to balance load",
}
PRIORITY_MEANING = {
    RestartPriority.DISABLED: "left down after a host failure",
    RestartPriority.LOWEST: "restarted last",
    RestartPriority.LOW: "restarted after medium ones",
    RestartPriority.MEDIUM: "restarted after high ones",
    RestartPriority.HIGH: "restarted before medium ones",
    RestartPriority.HIGHEST: "restarted first",
}


def _switch(enabled: bool | None) -> str:
    return "not reported by vCenter" if enabled is None else ("on" if enabled else "off")


def ha_setting(config: VSphereClusterConfig) -> str:
    """"on (default restart priority medium)", "off", "not reported by vCenter"."""
    default = config.default_restart_priority
    detail = f" (default restart priority {visible(default)})" if default else ""
    return _switch(config.ha_enabled) + (detail if config.ha_enabled is not None else "")


def drs_setting(config: VSphereClusterConfig) -> str:
    """"on (fully automated: ...)", "off", "not reported by vCenter"."""
    behavior = config.drs_behavior
    detail = f" ({DRS_BEHAVIOR.get(behavior, visible(behavior))})" if behavior else ""
    return _switch(config.drs_enabled) + (detail if config.drs_enabled else "")


def recommendations(config: VSphereClusterConfig) -> str:
    """DRS's pending recommendations, highest rating first, or "none" (an admin applies
    them in the vSphere Client: the console shows them, vcsim has none to test applying)."""
    return "; ".join(map(visible, config.drs_recommendations)) or "none"


def cluster_summary(config: VSphereClusterConfig, hosts: int) -> str:
    """One line for the cluster pane: "3 hosts; vSphere HA on; DRS on (...)"."""
    pending = len(config.drs_recommendations)
    return (f"{hosts} hosts; vSphere HA {ha_setting(config)}; DRS {drs_setting(config)}"
            + (f"; {pending} DRS recommendations" if pending else ""))


def priority_text(ha: HAConfig | None, config: VSphereClusterConfig) -> str:
    """The VM's restart priority, whose it is and what it means: "high (its own):
    restarted before medium ones"."""
    vm = ha.vsphere if ha is not None else None
    priority = vm.restart_priority if vm is not None else config.default_restart_priority
    if priority is None:
        return "the cluster's default (not reported by vCenter)"
    whose = "its own" if vm is not None and vm.own else "the cluster's default"
    meaning = PRIORITY_MEANING.get(priority) if isinstance(priority, RestartPriority) else None
    return f"{visible(priority)} ({whose})" + (f": {meaning}" if meaning else "")


def protection(ha: HAConfig | None, config: VSphereClusterConfig) -> str:
    """What vSphere HA does for this VM after a failure of its host."""
    if config.ha_enabled is None:
        return "not reported by vCenter for its cluster: its restart priority is kept"
    if not config.ha_enabled:
        return "off for its cluster: no VM is restarted after a host failure"
    if ha is None or ha.request is HARequest.DISABLED:
        return "on, but this VM's restart priority is disabled: it stays down"
    meanings: dict[object, str] = {
        HAState.STARTED: "protected: restarted on another host if its host fails",
        HAState.STOPPED: "powered off: vSphere HA restarts only VMs that were running",
        HAState.ERROR: "not protected yet: vCenter reports this running VM unprotected",
    }
    return meanings.get(ha.state, visible(str(ha.state)))


def vm_rows(guest: Guest, cluster: Container) -> list[tuple[str, str]]:
    """The rows of a VM in a vSphere cluster (whose `vsphere` is set)."""
    config = cluster.vsphere or VSphereClusterConfig()
    return [
        ("vSphere HA", protection(guest.ha, config)),
        ("Restart priority", priority_text(guest.ha, config)),
        ("Cluster", f"{visible(cluster.name)}: vSphere HA {ha_setting(config)}; "
                    f"DRS {drs_setting(config)}"),
    ]


__all__ = ["DRS_BEHAVIOR", "cluster_summary", "drs_setting", "ha_setting", "priority_text",
           "protection", "recommendations", "vm_rows"]
