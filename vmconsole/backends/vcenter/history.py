"""History from vCenter's PerformanceManager (`QueryPerf`) as metric samples.

Counters are named group.name.rollup (vSphere API reference, "Performance Counters"):
`cpu.usage.average` in hundredths of a percent, `mem.consumed.average` in KB,
`net.received.average`, `net.transmitted.average`, `disk.read.average` and
`disk.write.average` in KB per second. Their numeric keys differ from one server to the
next, so they are looked up by name in `perfManager.perfCounter` once per session.
"hour" asks for the realtime samples (20 s apart, kept about an hour); "day" and "week"
for the 5-minute and 30-minute historical intervals.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pyVmomi import vim

from vmconsole.backends.base import MetricSample

# timeframe -> (interval id in seconds, samples)
TIMEFRAMES: dict[str, tuple[int, int]] = {"hour": (20, 180), "day": (300, 288),
                                          "week": (1800, 336)}
COUNTERS = ("cpu.usage.average", "mem.consumed.average", "net.received.average",
            "net.transmitted.average", "disk.read.average", "disk.write.average")
KB = 1024


def counter_keys(perf_counters: Any) -> dict[str, int]:
    """The keys of `COUNTERS` on this server, by name (those it lacks are left out)."""
    keys: dict[str, int] = {}
    for counter in perf_counters or ():
        name = f"{counter.groupInfo.key}.{counter.nameInfo.key}.{counter.rollupType}"
        if name in COUNTERS:
            keys[name] = int(counter.key)
    return keys


def query_spec(entity: Any, keys: Mapping[str, int], timeframe: str) -> Any:
    """A `PerfQuerySpec` for one entity: the aggregate instance ("") of each counter."""
    interval, count = TIMEFRAMES[timeframe]
    return vim.PerformanceManager.QuerySpec(
        entity=entity, intervalId=interval, maxSample=count,
        metricId=[vim.PerformanceManager.MetricId(counterId=key, instance="")
                  for key in keys.values()])


def samples(answer: Any, keys: Mapping[str, int], maxmem: int) -> list[MetricSample]:
    """`QueryPerf`'s answer for one entity as samples, oldest first."""
    if not answer:
        return []
    metric = answer[0]
    by_key: dict[int, list[int]] = {}
    for series in metric.value or ():
        by_key[int(series.id.counterId)] = list(series.value or ())
    times = [_epoch(info.timestamp) for info in metric.sampleInfo or ()]

    def column(name: str) -> list[float]:
        values = by_key.get(keys.get(name, -1), [])
        return [float(v) if v >= 0 else 0.0 for v in values] + [0.0] * (len(times) - len(values))

    cpu, mem = column("cpu.usage.average"), column("mem.consumed.average")
    net_in, net_out = column("net.received.average"), column("net.transmitted.average")
    read, write = column("disk.read.average"), column("disk.write.average")
    out = [MetricSample(time=t, cpu=cpu[i] / 10000, mem=int(mem[i] * KB), maxmem=maxmem,
                        net_in=net_in[i] * KB, net_out=net_out[i] * KB,
                        disk_read=read[i] * KB, disk_write=write[i] * KB)
           for i, t in enumerate(times)]
    return sorted(out, key=lambda s: s.time)


def _epoch(stamp: datetime) -> float:
    return stamp.timestamp()


__all__ = ["COUNTERS", "TIMEFRAMES", "counter_keys", "query_spec", "samples"]
