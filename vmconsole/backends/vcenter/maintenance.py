"""Who empties a host entering maintenance mode (vSphere API reference,
HostSystem.EnterMaintenanceMode_Task; vSphere Resource Management, "Using Maintenance
Mode").

vCenter lets a host enter maintenance mode once no running VM is left on it. With DRS
fully automated on its cluster, DRS moves them by vMotion; otherwise someone must, and
the console's plan does (`M`, vmconsole/ui/host_maintenance.py). Powered-off VMs may
stay registered on the host: with `evacuatePoweredOffVms` vCenter re-registers them on
other hosts where DRS is enabled, but where DRS is disabled the task does not succeed
until every one was moved by hand, so the console asks for it only where DRS is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FULLY_AUTOMATED = "fullyAutomated"  # DrsBehavior


@dataclass(frozen=True, slots=True)
class Evacuation:
    """What vCenter does with a host's VMs when it enters maintenance mode."""

    drs_moves: bool  # DRS, fully automated, moves the running VMs
    powered_off: bool  # evacuatePoweredOffVms: vCenter re-registers the powered-off ones

    @property
    def mover(self) -> str | None:
        """Who moves the running VMs, for the plan; None: the console's plan must."""
        return "DRS (fully automated)" if self.drs_moves else None


def evacuation(config: Any) -> Evacuation:
    """From the host's cluster's `configurationEx` (ClusterConfigInfoEx: `drsConfig.enabled`,
    `drsConfig.defaultVmBehavior`); None for a standalone host (no DRS). An automation
    level vCenter does not report (vcsim's) is not taken for fully automated."""
    drs = getattr(config, "drsConfig", None)
    enabled = bool(getattr(drs, "enabled", False))
    behavior = str(getattr(drs, "defaultVmBehavior", "") or "")
    return Evacuation(drs_moves=enabled and behavior == FULLY_AUTOMATED, powered_off=enabled)


__all__ = ["FULLY_AUTOMATED", "Evacuation", "evacuation"]
