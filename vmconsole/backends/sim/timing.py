"""The HA timings of Proxmox VE (pve-ha-manager), in one place for the docs and tests."""

from __future__ import annotations

import math
from dataclasses import dataclass

from vmconsole.backends.sim.state import SimNode

ROUND = 10.0  # the CRM's and each LRM's work loop
FENCE_DELAY = 60.0  # a node lost this long gets its HA services fenced
LOCK_LEASE = 120.0  # a node's agent lock (and the CRM master lock) expire this late
WATCHDOG_TIMEOUT = 60.0  # watchdog-mux resets the node this long after the last feed
NODE_BOOT = 60.0  # a reset or powered-on node until it rejoins the cluster
OS_SHUTDOWN = 5.0  # a rebooting node, once its guests are off, until it leaves
HA_STOP_TIMEOUT = 180.0  # the LRM's shutdown timeout before it stops a service hard
IDLE_ROUNDS = 60  # an active LRM without services goes idle (disarms) after this many rounds


@dataclass(frozen=True, slots=True)
class Cadence:
    """When the CRM master and each LRM work, in seconds: every `length`, node number i
    (SimNode.index, from 1) `(i - 1) * node_step` into the loop, its CRM `crm_at` and
    its LRM `lrm_at` after that."""

    length: float
    node_step: float
    crm_at: float = 0.0
    lrm_at: float = 0.0


# A real cluster: each node's pve-ha-crm and pve-ha-lrm loop every ROUND, the nodes out
# of step with each other.
CLUSTER = Cadence(ROUND, 3.7, crm_at=3.7, lrm_at=3.7)


def _last(t: float, phase: float, length: float) -> float:
    return math.floor((t - phase) / length) * length + phase


def last_round(node: SimNode, t: float, cadence: Cadence) -> float:
    """The last LRM round of `node` at or before `t` (each node has its own phase), when
    it last renewed its agent lock and fed its watchdog."""
    return _last(t, ((node.index - 1) * cadence.node_step + cadence.lrm_at) % cadence.length,
                 cadence.length)


def next_round(node: SimNode, t: float, cadence: Cadence) -> float:
    """The node's next LRM round strictly after `t`."""
    return last_round(node, t, cadence) + cadence.length


def last_crm_round(node: SimNode, t: float, cadence: Cadence) -> float:
    """The last round of the node's CRM at or before `t`."""
    return _last(t, ((node.index - 1) * cadence.node_step + cadence.crm_at) % cadence.length,
                 cadence.length)


def next_crm_round(node: SimNode, t: float, cadence: Cadence) -> float:
    """The node's next CRM round strictly after `t`."""
    return last_crm_round(node, t, cadence) + cadence.length
