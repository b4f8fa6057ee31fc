"""Where a VM may go by vMotion, and if not, why: the console's own precondition check.

vSphere's rules for a host as a relocation target (vSphere vCenter Server and Host
Management, "Migrating Virtual Machines"; `RelocateVM_Task` faults): the host is
connected and powered on, not in maintenance mode (vCenter refuses new VMs there), and,
for a migration without Storage vMotion, it mounts every datastore the VM's files are on.
vCenter checks these itself when it runs the task; checking first lets the form say why
a host is refused before anything starts (and vcsim checks none of them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from vmconsole.backends.base import MigrationTarget
from vmconsole.backends.vcenter.inventory import host_status
from vmconsole.model import NodeStatus


@dataclass(frozen=True, slots=True)
class HostFacts:
    """What the check needs to know of one host."""

    name: str
    connection: str  # HostSystemConnectionState
    power: str  # HostSystemPowerState
    maintenance: bool
    # The managed object ids of the datastores mounted there: a name is unique only
    # within its datacenter (two datacenters may each have a "LocalDS_0").
    datastores: frozenset[str]


def targets(current: str, vm_datastores: Mapping[str, str], hosts: Iterable[HostFacts]
            ) -> list[MigrationTarget]:
    """A target per host, by name: whether the VM on `current`, with its files on
    `vm_datastores` (id -> name), may go there, and why not."""
    out = []
    for host in sorted(hosts, key=lambda h: h.name):
        reason = refusal(host, current, vm_datastores)
        out.append(MigrationTarget(node=host.name, allowed=not reason, reason=reason))
    return out


def refusal(host: HostFacts, current: str, needed: Mapping[str, str]) -> str:
    """Why the VM, with its files on the datastores `needed` (id -> name), may not go
    to `host` ("" when it may)."""
    if host.name == current:
        return "the VM is on this host"
    if host.maintenance:
        return "the host is in maintenance mode"
    if host_status(host.connection, host.power) is not NodeStatus.ONLINE:
        return f"the host is not connected ({host.connection}, {host.power})"
    missing = sorted(name for moid, name in needed.items() if moid not in host.datastores)
    if missing:
        return f"datastore not shared with this host: {', '.join(missing)}"
    return ""


__all__ = ["HostFacts", "refusal", "targets"]
