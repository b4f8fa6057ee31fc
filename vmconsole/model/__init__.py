"""The inventory of a cluster as frozen dataclasses, and how two inventories differ.

Every backend produces these; the monitor and the UI consume them. Nothing here imports
any other part of the project. The names live in four modules, each with one job, and
are imported from here: `objects` (nodes, guests, storages, containers, snapshots,
metrics), `ha` (HA states and settings, vSphere HA and DRS, fault tolerance),
`addresses` (a guest's IP addresses and which are probed) and `inventory` (one
cluster at one moment and the diff of two). `records.fast_constructor` is for a backend
that makes them by the thousand.
"""

from vmconsole.model.addresses import AddressSource, GuestAddress, probe_order
from vmconsole.model.ha import (
    HA_NODE_STATES,
    HA_SERVICE_STATES,
    FaultTolerance,
    HAConfig,
    HAPhase,
    HARequest,
    HAState,
    HAStateInfo,
    NodeHAState,
    RestartPriority,
    VSphereClusterConfig,
    VSphereVmHA,
    ha_state,
    node_ha_state,
    restart_priority,
)
from vmconsole.model.inventory import Inventory, InventoryDiff, LabelKey
from vmconsole.model.objects import (
    Container,
    Duplicate,
    Guest,
    GuestKind,
    GuestStatus,
    Metrics,
    Node,
    NodeStatus,
    Quorum,
    Snapshot,
    Storage,
    total_metrics,
)

__all__ = [
    "HA_NODE_STATES", "HA_SERVICE_STATES", "AddressSource", "Container", "Duplicate",
    "FaultTolerance", "Guest", "GuestAddress", "GuestKind", "GuestStatus", "HAConfig",
    "HAPhase", "HARequest", "HAState", "HAStateInfo", "Inventory", "InventoryDiff",
    "LabelKey", "Metrics", "Node", "NodeHAState", "NodeStatus", "Quorum", "RestartPriority",
    "Snapshot", "Storage", "VSphereClusterConfig", "VSphereVmHA", "ha_state",
    "node_ha_state", "probe_order", "restart_priority", "total_metrics",
]
