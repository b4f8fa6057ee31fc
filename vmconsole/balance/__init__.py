"""Rebalance plans and target scoring for any cluster (`planner`), with Proxmox VE's
TOPSIS scoring (`topsis`). Imports the model only: no backend, no Textual."""

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

__all__ = ["MODES", "AffinityRule", "Move", "NodeLoad", "Plan", "Rules", "Stuck",
           "best_target", "plan"]
