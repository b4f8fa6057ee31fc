"""Rebalance plans and target scoring for any cluster (`planner`), with Proxmox VE's
TOPSIS scoring (`topsis`). Imports the model only: no backend, no Textual."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vmconsole.balance.planner import (
        MODES,
        AffinityRule,
        Move,
        NodeLoad,
        Plan,
        Rules,
        Stuck,
        best_target,
        plan,
    )

# The planner is imported on first use of one of its names (PEP 562): the simulator's HA
# stack imports `balance.usage` at start, and the first screen plans nothing (issue 12).
_PLANNER_NAMES = frozenset({"MODES", "AffinityRule", "Move", "NodeLoad", "Plan", "Rules",
                            "Stuck", "best_target", "plan"})


def __getattr__(name: str) -> object:
    """The public name NAME from the planner, imported now (AttributeError if none)."""
    if name not in _PLANNER_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.planner"), name)


__all__ = ["MODES", "AffinityRule", "Move", "NodeLoad", "Plan", "Rules", "Stuck",
           "best_target", "plan"]
