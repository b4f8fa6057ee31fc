"""The sizes and clock speeds the simulator accepts, where the `kind = "sim"` config, the
`demo` command's options and the simulator itself all check them: a bound on what one
line of input makes it build before the first screen, and on the work its clock asks."""

from __future__ import annotations

import math

# The largest cluster the simulator builds, from `--nodes`/`--guests`, a config's sim
# cluster or a lesson file.
MAX_NODES = 1000
MAX_GUESTS = 100_000

# The fastest clock the model keeps up with. The model works through every event due up
# to the clock's present before it answers a poll (`Sim.advance`), so a clock faster
# than that work never lets a poll through: 1e9 on the classic lab held the first poll
# for good. Its work grows with the nodes (each one's CRM and LRM rounds) and the guests
# (their load): measured on one core, the 3-node lab simulates about 140,000 s a second,
# 100 nodes 9,000, 1,000 nodes 150, 100 nodes with 100,000 guests 500. WORK_BUDGET
# units a second, a node one unit and each whole GUESTS_PER_UNIT guests another, keeps
# each of those under half a core (1,000 nodes at 60x, the `]` key's top).
MAX_TIME_SCALE = 1000
WORK_BUDGET = 60_000
GUESTS_PER_UNIT = 100


def max_time_scale(nodes: int, guests: int = 0) -> int:
    """The largest time scale (simulated seconds per real second) the simulator accepts
    for a cluster of `nodes` nodes (>= 1) and `guests` guests: MAX_TIME_SCALE, less for
    larger clusters (WORK_BUDGET over their work units, rounded down: 60 at 1,000
    nodes)."""
    units = max(1, nodes) + max(0, guests) // GUESTS_PER_UNIT
    return min(MAX_TIME_SCALE, math.floor(WORK_BUDGET / units))


def time_scale_refusal(scale: float, nodes: int, guests: int = 0) -> str | None:
    """Why `scale` (simulated seconds per real second) is refused for a cluster of
    `nodes` nodes and `guests` guests, as what it "must be" ("between 0 (paused) and
    1000 for 3 nodes"), or None when it is accepted (0 to `max_time_scale`). The caller
    names the setting: the config key, the CLI option or the time control."""
    limit = max_time_scale(nodes, guests)
    if 0 <= scale <= limit:  # NaN is refused too
        return None
    return (f"between 0 (paused) and {limit} for {nodes} nodes"
            + (f" and {guests} guests" if guests else ""))


def shape_refusals(nodes: int, guests: int, time_scale: float) -> dict[str, str]:
    """What a simulated cluster's size and speed must be and are not, by the field's
    name (`nodes`, `guests`, `time_scale`) to what the value must be ("between 1 and
    1000"); empty when the simulator accepts them. The time scale is judged only for a
    size accepted: its limit depends on the size, and a limit computed from a refused
    one ("between 0 (paused) and 0 for 99999999999999999999 nodes") refused a speed the
    user never gave."""
    refused = {key: reason for key, reason in (
        ("nodes", None if 1 <= nodes <= MAX_NODES else f"between 1 and {MAX_NODES}"),
        ("guests", None if 0 <= guests <= MAX_GUESTS else f"between 0 and {MAX_GUESTS}"),
    ) if reason is not None}
    if not refused and (scale := time_scale_refusal(time_scale, nodes, guests)) is not None:
        refused["time_scale"] = scale
    return refused
