"""The optional abilities a backend may have beyond `base.Backend`, each a protocol the
console checks with `isinstance` before it offers what the ability allows: teaching
(faults, time, scenarios, node and HA admin, the CRS, Fault Tolerance), events, probes,
placement rules, change notices, host maintenance, template to VM, guest addresses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from vmconsole.backends.addresses import AddressReading
    from vmconsole.backends.base import Task
    from vmconsole.backends.event_kinds import EventKind
    from vmconsole.backends.ha_config import CRSView, FTLimits, HARules
    from vmconsole.balance.planner import Rules


class FaultKind(StrEnum):
    POWER_OFF = "power_off"  # the node dies
    CUT_NETWORK = "cut_network"  # cluster network down; the node keeps running
    ISOLATE = "isolate"  # alias kept for the lecture's word: like CUT_NETWORK
    LOSE_STORAGE = "lose_storage"  # shared storage unreachable from the node


@runtime_checkable
class SupportsFaults(Protocol):
    """Fault injection, for teaching: the simulator and the lab (vmconsole.lab.backend)."""

    def inject_fault(self, node: str, fault: FaultKind) -> None: ...
    def partition(self, groups: list[list[str]]) -> None: ...
    def restore(self, node: str | None = None) -> None:
        """Undo faults on one node, or everywhere."""
        ...


@runtime_checkable
class SupportsTimeControl(Protocol):
    """A clock that a teacher can speed up or pause."""

    @property
    def time_scale(self) -> float: ...
    def set_time_scale(self, scale: float) -> None:
        """1.0 is real time; 0 pauses."""
        ...

    def now(self) -> float:
        """The backend's own clock, in seconds."""
        ...


@dataclass(frozen=True, slots=True)
class ClusterEvent:
    """Something that happened in the cluster, for the teaching timeline and the ping chart.

    `kind` says what happened, from one closed set (`EventKind`); `message` narrates it
    for a person, with the reason and any wait ("pve3 lost: waiting 60 s fence delay
    ...").
    """

    seq: int
    time: float
    kind: EventKind
    message: str
    node: str | None = None
    guest: str | None = None


@runtime_checkable
class SupportsEvents(Protocol):
    def events(self, since: int = 0) -> list[ClusterEvent]:
        """Events with seq > since, oldest first."""
        ...


@runtime_checkable
class SupportsProbe(Protocol):
    """Guests that answer probes from the model itself (the simulator's prober)."""

    def probe(self, guest_id: str) -> float | None:
        """The round-trip time in seconds if the guest answers now, else None."""
        ...


@runtime_checkable
class SupportsScenarios(Protocol):
    """The lecture's scenarios, runnable by name (the simulator only)."""

    def scenarios(self) -> list[tuple[str, str]]:
        """(name, one-line description) of each scenario."""
        ...

    def start_scenario(self, name: str | None) -> None:
        """Replace the cluster by the scenario's; None: back to the classic lab."""
        ...

    def scenario_summary(self) -> list[str]:
        """What the running scenario has measured so far (empty without one)."""
        ...


@runtime_checkable
class SupportsNodeAdmin(Protocol):
    """A node's planned outages: an admin's reboot or shutdown (HA services follow the
    cluster's shutdown policy), HA maintenance mode."""

    def reboot_node(self, node: str) -> None: ...
    def shutdown_node(self, node: str) -> None: ...
    def set_maintenance(self, node: str, enabled: bool) -> None: ...


@runtime_checkable
class SupportsHAAdmin(Protocol):
    """The HA stack: disarm it (freeze or ignore its services), arm it, restart a node's
    LRM or CRM, let rounds be skipped, and read `ha-manager status`."""

    def restart_lrm(self, node: str) -> None: ...
    def restart_crm(self, node: str) -> None: ...
    def skip_rounds(self, what: str, rounds: int = 1) -> None: ...
    def set_cfs_failure(self, node: str, failed: bool) -> None: ...
    def disarm_ha(self, mode: str) -> None: ...
    def arm_ha(self) -> None: ...
    def ha_status(self) -> list[str]: ...


@runtime_checkable
class SupportsBalancing(Protocol):
    """A load balancer (Proxmox's CRS, VMware's DRS): its plan, and applying it."""

    def crs_plan(self) -> list[str]: ...
    def crs_apply(self, count: int = 1) -> int: ...


@runtime_checkable
class SupportsPlacementRules(Protocol):
    """The cluster's own placement rules for a rebalance plan (`vmconsole.balance`)."""

    def placement_rules(self) -> Rules:
        """HA groups, node and resource affinity as nodes refused per guest, and the
        scheduler that balances HA guests itself (Proxmox's CRS with auto-rebalance),
        if any. Raises BackendError when the rules cannot be read."""
        ...


@runtime_checkable
class SupportsFaultTolerance(Protocol):
    """VMware FT / Remus: a VM's shadow copy on another node."""

    def set_fault_tolerance(self, guest_id: str, secondary: str | None) -> None: ...
    def fault_tolerance(self, guest_id: str) -> list[str]: ...


@runtime_checkable
class SupportsHAConfig(Protocol):
    """HA rules and the CRS, read and changed as a cluster's admin does
    (`ha-manager rules ...`, datacenter.cfg). Setters raise `InvalidInput` with a reason
    per field (name, nodes, resources, mode, threshold, ...), `Conflict` for a rule that
    does not exist, `QuorumLost` without quorum."""

    def ha_config(self) -> HARules: ...

    def ha_node_affinity_set(self, name: str, nodes: dict[str, int], positive: bool,
                             strict: bool, nofailback: bool, resources: list[str]) -> None:
        """Add or replace node-affinity rule `name`; `resources` are guest ids."""
        ...

    def ha_node_affinity_remove(self, name: str) -> None: ...

    def ha_resource_affinity_set(self, name: str, resources: list[str],
                                 positive: bool) -> None:
        """Add or replace resource-affinity rule `name` over guest ids."""
        ...

    def ha_rule_remove(self, name: str) -> None:
        """Remove resource-affinity rule `name`."""
        ...
    def crs_settings(self) -> CRSView: ...

    def set_crs(self, mode: str = "basic", auto_rebalance: bool = False,
                threshold: float = 0.3, hold: int = 3, margin: float = 0.1) -> None: ...


@runtime_checkable
class SupportsFaultToleranceLimits(SupportsFaultTolerance, Protocol):
    """FT's limits for one VM, for the form that turns FT on or off."""

    def ft_limits(self, guest_id: str) -> FTLimits: ...


@runtime_checkable
class SupportsChangeNotice(Protocol):
    """A backend that learns of changes by events (libvirt's lifecycle callbacks)."""

    def set_change_callback(self, callback: Callable[[], None] | None) -> None:
        """`callback()` runs, on some backend thread, when the inventory changed."""
        ...


@runtime_checkable
class SupportsProbeNamespace(Protocol):
    """Guests reachable only from inside a network namespace (the lab's LAN)."""

    @property
    def probe_netns(self) -> str | None: ...


@runtime_checkable
class SupportsHostMaintenance(Protocol):
    """A host's maintenance mode as an operation with a task (vCenter's
    `EnterMaintenanceMode_Task`), where the simulator's is a teaching fault."""

    def set_host_maintenance(self, node: str, enabled: bool) -> Task:
        """Enter (`enabled`) or leave maintenance mode on host `node`."""
        ...

    def host_evacuation(self, node: str) -> str | None:
        """Who moves the running guests off host `node` when it enters maintenance mode,
        named in the backend's terms ("DRS (fully automated)"), or None when the
        console's plan must move them first. Raises BackendError when it cannot tell."""
        ...


@runtime_checkable
class SupportsTemplateToVM(Protocol):
    """A template that can become a VM again (vCenter's `MarkAsVirtualMachine`; Proxmox
    cannot undo a template)."""

    def convert_to_vm(self, guest_id: str, node: str) -> Task:
        """The template `guest_id` back to a VM, registered on host `node`."""
        ...


@runtime_checkable
class SupportsGuestAddresses(Protocol):
    """Guest addresses that cost a call per guest (a guest agent, a container's
    interfaces, libvirt's interfaceAddresses): the inventory carries what a slow
    background sweep found (`backends.addresses.AddressBook`); this reads one now."""

    def guest_addresses(self, guest_id: str) -> AddressReading:
        """Read the guest's addresses now (blocking, up to the backend's timeout); the
        next inventory carries them. Raises NotFound for an unknown guest."""
        ...
