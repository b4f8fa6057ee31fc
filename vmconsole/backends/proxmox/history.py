"""PVE's round-robin database (`rrddata`) as metric samples.

Nodes report `memused`/`memtotal`, guests `mem`/`maxmem`; network and disk figures are
already averaged rates in bytes per second. A row without `time` (no data yet) is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from vmconsole.backends.base import MetricSample
from vmconsole.backends.proxmox.answers import NUMBER, Records

TIMEFRAMES = ("hour", "day", "week")
# The rows' shape (`answers.read`): the other figures are read as 0 when they are not
# numbers, as RRD gaps are.
RRD_ROWS = Records({"time": NUMBER})


def samples(rows: Iterable[Mapping[str, Any]]) -> list[MetricSample]:
    out = []
    for row in rows:
        if row.get("time") is None:
            continue
        out.append(MetricSample(
            time=float(row["time"]),
            cpu=_number(row.get("cpu")),
            mem=int(_number(row.get("mem", row.get("memused")))),
            maxmem=int(_number(row.get("maxmem", row.get("memtotal")))),
            net_in=_number(row.get("netin")),
            net_out=_number(row.get("netout")),
            disk_read=_number(row.get("diskread")),
            disk_write=_number(row.get("diskwrite")),
        ))
    return sorted(out, key=lambda s: s.time)


def _number(value: Any) -> float:
    """RRD gaps come as missing keys or null."""
    try:
        return float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0
