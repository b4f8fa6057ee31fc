"""High availability in the model: the Proxmox HA manager's service and node states
with their meanings, a guest's HA resource, vSphere HA's restart priorities, and fault
tolerance. vCenter's HA and DRS settings of a VM and of a cluster are `model.vsphere`'s."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vmconsole.model.vsphere import VSphereVmHA


class NodeHAState(StrEnum):
    """A node as the Proxmox HA manager sees it (PVE/HA/NodeStatus.pm)."""

    ONLINE = "online"
    UNKNOWN = "unknown"
    FENCE = "fence"
    MAINTENANCE = "maintenance"
    GONE = "gone"


class HAState(StrEnum):
    """A service's state as the Proxmox HA manager reports it: the CRM's own states
    (PVE/HA/Manager.pm, $valid_service_states) and the ones `ha-manager status` and
    /cluster/ha/status/current show in their place (PVE/HA/Tools.pm,
    get_verbose_service_state)."""

    STARTED = "started"
    STOPPED = "stopped"
    DISABLED = "disabled"
    IGNORED = "ignored"
    REQUEST_START = "request_start"
    REQUEST_START_BALANCE = "request_start_balance"
    REQUEST_STOP = "request_stop"
    FREEZE = "freeze"
    FENCE = "fence"
    RECOVERY = "recovery"
    MIGRATE = "migrate"
    RELOCATE = "relocate"
    ERROR = "error"
    QUEUED = "queued"
    STARTING = "starting"
    STOPPING = "stopping"
    DELETING = "deleting"
    NOT_FOUND = "not found"
    CLEARING_ERROR = "clearing error flag"


class HAPhase(StrEnum):
    """What an HA state means for a service or node at a glance."""

    STEADY = "steady"  # as requested: nothing to do
    PENDING = "pending"  # the manager is acting on it
    TROUBLE = "trouble"  # lost, being fenced or recovered, or failed
    FROZEN = "frozen"  # left alone for now (a reboot, maintenance)
    UNMANAGED = "unmanaged"  # outside HA's care


@dataclass(frozen=True, slots=True)
class HAStateInfo:
    """A known HA state: its phase and a one-line meaning, for people."""

    phase: HAPhase
    meaning: str


# The meanings follow pve-ha-manager's sources (Manager.pm, NodeStatus.pm, Tools.pm) and
# the "How It Works" section of the Proxmox VE manual's HA chapter.
HA_SERVICE_STATES: dict[HAState, HAStateInfo] = {
    HAState.STARTED: HAStateInfo(HAPhase.STEADY, "kept running: the LRM of its node starts "
                                 "it whenever it finds it stopped"),
    HAState.STOPPED: HAStateInfo(HAPhase.STEADY, "kept stopped, as the LRM confirmed: it "
                                 "stops it again if it finds it running"),
    HAState.DISABLED: HAStateInfo(HAPhase.STEADY, "stopped and disabled: HA neither starts "
                                  "nor recovers it"),
    HAState.IGNORED: HAStateInfo(HAPhase.UNMANAGED, "HA leaves it alone (no start, stop or "
                                 "recovery); its HA settings are kept"),
    HAState.REQUEST_START: HAStateInfo(HAPhase.PENDING, "to be started: the CRM chooses its "
                                       "node (rebalance on start) before its LRM starts it"),
    HAState.REQUEST_START_BALANCE: HAStateInfo(HAPhase.PENDING, "to be started on the node "
                                               "the CRS chose for balance: moved, then "
                                               "started"),
    HAState.REQUEST_STOP: HAStateInfo(HAPhase.PENDING, "to be stopped: the CRM waits for "
                                      "the LRM to confirm it stopped"),
    HAState.FREEZE: HAStateInfo(HAPhase.FROZEN, "frozen: HA does not touch it while its "
                                "node reboots or its LRM restarts"),
    HAState.FENCE: HAStateInfo(HAPhase.TROUBLE, "its node left the quorate partition: "
                               "waiting until the node is fenced, then recovery"),
    HAState.RECOVERY: HAStateInfo(HAPhase.TROUBLE, "its node was fenced: the CRM looks for "
                                  "a node to recover it on"),
    HAState.MIGRATE: HAStateInfo(HAPhase.PENDING, "migrating live to another node"),
    HAState.RELOCATE: HAStateInfo(HAPhase.PENDING, "relocating to another node: stopped, "
                                  "moved, started"),
    HAState.ERROR: HAStateInfo(HAPhase.TROUBLE, "failed to start or stop after its restarts "
                               "and relocations: set it disabled, fix the cause, then "
                               "started"),
    HAState.QUEUED: HAStateInfo(HAPhase.PENDING, "just added: the CRM has not taken it up "
                                "yet"),
    HAState.STARTING: HAStateInfo(HAPhase.PENDING, "start requested: the LRM has not yet "
                                  "confirmed that it runs"),
    HAState.STOPPING: HAStateInfo(HAPhase.PENDING, "stop requested: the CRM has not yet "
                                  "acted on it"),
    HAState.DELETING: HAStateInfo(HAPhase.PENDING, "removed from the HA resources: the "
                                  "manager is letting go of it"),
    HAState.NOT_FOUND: HAStateInfo(HAPhase.TROUBLE, "the guest's configuration is on no "
                                   "node: HA cannot place it"),
    HAState.CLEARING_ERROR: HAStateInfo(HAPhase.PENDING, "disabled after an error: the CRM "
                                        "clears the error so it can be started again"),
}
HA_NODE_STATES: dict[NodeHAState, HAStateInfo] = {
    NodeHAState.ONLINE: HAStateInfo(HAPhase.STEADY, "in the quorate partition: runs HA "
                                    "services and takes new ones"),
    NodeHAState.MAINTENANCE: HAStateInfo(HAPhase.FROZEN, "in maintenance: takes no work; "
                                         "its services moved away until it ends"),
    NodeHAState.UNKNOWN: HAStateInfo(HAPhase.TROUBLE, "not in the quorate partition, maybe "
                                     "still running: its services are fenced after 60 s"),
    NodeHAState.FENCE: HAStateInfo(HAPhase.TROUBLE, "to be fenced: once its agent lock is "
                                   "free (its watchdog reset it) its services recover"),
    NodeHAState.GONE: HAStateInfo(HAPhase.UNMANAGED, "no longer in the cluster's member "
                                  "list (possibly removed)"),
}


def ha_state(text: str) -> HAState | str:
    """A service's HA state from a backend: the known state, or the string unchanged."""
    try:
        return HAState(text)
    except ValueError:
        return text


def node_ha_state(text: str) -> NodeHAState | str:
    """A node's HA state from a backend: the known state, or the string unchanged."""
    try:
        return NodeHAState(text)
    except ValueError:
        return text


class HARequest(StrEnum):
    """The state an admin asks the HA manager to keep a service in."""

    STARTED = "started"
    STOPPED = "stopped"
    DISABLED = "disabled"
    IGNORED = "ignored"


class RestartPriority(StrEnum):
    """vSphere HA's restart priority of a VM (vSphere API reference,
    `ClusterDasVmSettingsRestartPriority`): the order in which vSphere HA restarts VMs
    after a host failure; "disabled" leaves the VM down."""

    DISABLED = "disabled"
    LOWEST = "lowest"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    HIGHEST = "highest"


def restart_priority(text: str) -> RestartPriority | str:
    """A restart priority from vCenter: the known one, or the string unchanged."""
    try:
        return RestartPriority(text)
    except ValueError:
        return text


@dataclass(frozen=True, slots=True)
class HAConfig:
    """A guest's HA resource: what was requested and where the service is now.

    `group`, `nodes`, `max_restart` and `max_relocate` are the Proxmox HA manager's;
    a vSphere VM has none of them and carries its restart priority in `vsphere`."""

    request: HARequest = HARequest.STARTED
    # What the manager says; a state this console does not know stays as the string.
    state: HAState | str = HAState.STARTED
    group: str | None = None
    nodes: tuple[str, ...] = ()
    max_restart: int = 1
    max_relocate: int = 1
    vsphere: VSphereVmHA | None = None


@dataclass(frozen=True, slots=True)
class FaultTolerance:
    """A fault-tolerant VM (VMware FT; Remus): its shadow copy's node (None while a new
    one is copied: the VM runs unprotected), the checkpoint interval and how long after
    the last checkpoint the shadow goes live (milliseconds), and FT's price: the
    primary's slowdown and the FT link's load (percent)."""

    secondary: str | None
    checkpoint_ms: float
    takeover_ms: float
    slowdown: float
    link_load: float
