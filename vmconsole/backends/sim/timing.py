"""The HA timings of Proxmox VE (pve-ha-manager), in one place for the docs and tests."""

from __future__ import annotations

import math

from vmconsole.backends.sim.state import SimNode

ROUND = 10.0  # the CRM's and each LRM's work loop
FENCE_DELAY = 60.0  # a node lost this long gets its HA services fenced
LOCK_LEASE = 120.0  # a node's agent lock (and the CRM master lock) expire this late
WATCHDOG_TIMEOUT = 60.0  # watchdog-mux resets the node this long after the last feed
NODE_BOOT = 60.0  # a reset or powered-on node until it rejoins the cluster
OS_SHUTDOWN = 5.0  # a rebooting node, once its guests are off, until it leaves
HA_STOP_TIMEOUT = 180.0  # the LRM's shutdown timeout before it stops a service hard
IDLE_ROUNDS = 60  # an active LRM without services goes idle (disarms) after this many rounds


def last_round(node: SimNode, t: float) -> float:
    """The last LRM round of `node` at or before `t` (each node has its own phase), when
    it last renewed its agent lock and fed its watchdog."""
    phase = (node.index * 3.7) % ROUND
    return math.floor((t - phase) / ROUND) * ROUND + phase


def next_round(node: SimNode, t: float) -> float:
    """The node's next LRM round strictly after `t`."""
    return last_round(node, t) + ROUND
