"""The inventory of a cluster as frozen dataclasses, and how two inventories differ.

Every backend produces these; the monitor and the UI consume them. Nothing here imports
any other part of the project. What every inventory holds lives in four modules, each
with one job, and is imported from here: `objects` (nodes, guests, storages, quorum,
metrics), `ha` (HA states and settings, restart priorities, fault tolerance),
`addresses` (a guest's IP addresses and which are probed) and `inventory` (one
cluster at one moment and the diff of two). What only some backends or operations make
is imported from its own module, by what makes or reads it: `containers` (vCenter's
datacenters and clusters), `vsphere` (vSphere HA and DRS settings), `duplicates` (a
libvirt guest defined on two hosts), `snapshots` (a guest's snapshot tree); a start
that makes none defines none (issue 12). `records.fast_constructor` is for a backend
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
    ha_state,
    node_ha_state,
    restart_priority,
)
from vmconsole.model.inventory import Inventory, InventoryDiff, LabelKey
from vmconsole.model.objects import (
    Guest,
    GuestKind,
    GuestStatus,
    Metrics,
    Node,
    NodeStatus,
    Quorum,
    Storage,
    total_metrics,
)

__all__ = [
    "HA_NODE_STATES", "HA_SERVICE_STATES", "AddressSource", "FaultTolerance", "Guest",
    "GuestAddress", "GuestKind", "GuestStatus", "HAConfig", "HAPhase", "HARequest",
    "HAState", "HAStateInfo", "Inventory", "InventoryDiff", "LabelKey", "Metrics", "Node",
    "NodeHAState", "NodeStatus", "Quorum", "RestartPriority", "Storage", "ha_state",
    "node_ha_state", "probe_order", "restart_priority", "total_metrics",
]
