"""TOPSIS, the multi-criteria ranking Proxmox VE's cluster resource scheduler uses to
pick a node (proxmox-resource-scheduling, `src/topsis.rs`; the crate now lives in the
proxmox workspace).

Each alternative (a node the guest could go to) is a row of criteria values. Every
column is divided by its Euclidean norm, weighted, and each row scored by its relative
closeness to the ideal best row: distance to the worst over the sum of the distances to
the best and the worst (0 worst .. 1 best). A criterion with a negative weight is one to
minimise (usage); `Criterion` keeps Proxmox's sign convention.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Criterion:
    """One column: its name, and its weight (negative: lower is better)."""

    name: str
    weight: float


# pve_static.rs's PveTopsisAlternative: usage percentages after the placement, each as
# 1 + value so that tiny differences are not blown up.
PVE_CRITERIA = (
    Criterion("average CPU", -1.0),
    Criterion("highest CPU", -2.0),
    Criterion("average memory", -5.0),
    Criterion("highest memory", -10.0),
)


def score(matrix: Sequence[Sequence[float]],
          criteria: Sequence[Criterion] = PVE_CRITERIA) -> list[float]:
    """The closeness (0..1, higher is better) of each row of `matrix` to the ideal, as
    topsis.rs's score_alternatives. Raises ValueError if every weight is zero or a row
    has not one value per criterion."""
    total = sum(abs(c.weight) for c in criteria)
    if total == 0:
        raise ValueError("no criterion has a non-zero weight")
    if any(len(row) != len(criteria) for row in matrix):
        raise ValueError("every alternative needs one value per criterion")
    if not matrix:
        return []
    columns = list(zip(*matrix, strict=True))
    norms = [math.sqrt(sum(v * v for v in col)) for col in columns]
    rows = [[v / n if n else v for v, n in zip(row, norms, strict=True)] for row in matrix]
    weights = [abs(c.weight) / total for c in criteria]
    best, worst = [], []
    for index, criterion in enumerate(criteria):
        values = [row[index] for row in rows]
        low, high = min(values), max(values)
        best.append(high if criterion.weight >= 0 else low)
        worst.append(low if criterion.weight >= 0 else high)
    scores = []
    for row in rows:
        to_best = math.sqrt(sum((w * (v - b)) ** 2 for v, b, w in zip(row, best, weights,
                                                                       strict=True)))
        to_worst = math.sqrt(sum((w * (v - b)) ** 2 for v, b, w in zip(row, worst, weights,
                                                                        strict=True)))
        # Both distances are 0 only when every row is alike (the ideal is the worst):
        # each is then as good as can be, and a lone candidate must not read as the worst
        scores.append(to_worst / (to_best + to_worst) if to_best + to_worst else 1.0)
    return scores
