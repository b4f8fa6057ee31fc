"""vSphere HA and DRS as vCenter reports them: a VM's restart priority (`HAConfig.vsphere`)
and a vSphere cluster's settings (`Container.vsphere`). The restart priorities
themselves (`RestartPriority`) are with the other HA states in `model.ha`."""

from __future__ import annotations

from dataclasses import dataclass

from vmconsole.model.ha import RestartPriority


@dataclass(frozen=True, slots=True)
class VSphereVmHA:
    """A VM's vSphere HA setting: its restart priority, its own (an override in its
    cluster's `dasVmConfig`) or else the cluster's default (`dasConfig.defaultVmSettings`);
    None: vCenter reports neither."""

    restart_priority: RestartPriority | str | None
    own: bool = False


@dataclass(frozen=True, slots=True)
class VSphereClusterConfig:
    """A vSphere cluster's vSphere HA and DRS settings (vSphere API reference,
    `ClusterConfigInfoEx`: `dasConfig.enabled`, `dasConfig.defaultVmSettings`,
    `drsConfig.enabled`, `drsConfig.defaultVmBehavior`); None: vCenter does not report
    it (vcsim leaves vSphere HA unset), which is not "off"."""

    ha_enabled: bool | None = None
    default_restart_priority: RestartPriority | str | None = None
    drs_enabled: bool | None = None
    drs_behavior: str | None = None  # DrsBehavior: manual, partiallyAutomated, fullyAutomated
    # DRS's pending recommendations (the cluster's `recommendation`), each as vCenter
    # words it: "rating 4 of 5: Balance average CPU loads."
    drs_recommendations: tuple[str, ...] = ()
