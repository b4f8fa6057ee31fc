"""Figures for people: sizes, rates, durations, moments, percentages."""

from __future__ import annotations

import time

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def size(value: float) -> str:
    amount = float(value)
    for unit in _UNITS:
        if abs(amount) < 1024 or unit == _UNITS[-1]:
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def rate(value: float) -> str:
    return f"{size(value)}/s"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {s:02d}s"
    return f"{seconds:.1f}s" if seconds < 10 else f"{s}s"


def moment(when: float, now: float) -> str:
    """An instant (epoch seconds) as the local clock time and how far from `now`:
    "20:51:03 (2m 05s ago)", "20:51:13 (in 4s)"."""
    clock = time.strftime("%H:%M:%S", time.localtime(when))
    if when >= now:
        return f"{clock} (in {duration(when - now)})"
    return f"{clock} ({duration(now - when)} ago)"


def percent(fraction: float) -> str:
    return f"{fraction * 100:.1f}%"


def bar(fraction: float, width: int, full: str = "█", empty: str = "░") -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return full * filled + empty * (width - filled)
