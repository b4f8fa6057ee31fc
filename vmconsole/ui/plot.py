"""Line charts drawn by plotext into rich Text, for any data a backend may send.

plotext keeps one global figure, so charts are drawn only from the event loop's
thread, one at a time, and the figure is cleared before each.

plotext (5.x) raises IndexError when every point of a series lies outside the y range,
and OverflowError or ValueError on NaN, infinity or figures near the float limit. A
libvirt host reports used memory above its total often enough (balloon and page-cache
accounting), so every value is fitted into the chart's range first: a value outside is
drawn at the edge and counted, a NaN is left out and counted, and the chart says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.color import Color
from rich.text import Text

# No figure of ours comes near this; beyond it plotext's tick arithmetic overflows.
LIMIT = 1e15
# Box-drawing characters plotext draws its axes with, and their ASCII stand-ins for
# terminals without Unicode (TERM=linux, a non-UTF-8 locale, --ascii).
_TO_ASCII = str.maketrans("─│┌┐└┘├┤┬┴┼", "-|+++++++++")


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: Sequence[float]
    color: str  # any colour rich parses: "#50c878", "green"


@dataclass(frozen=True, slots=True)
class Fitted:
    """Points fitted into a y range: how many were drawn at its top or bottom edge
    instead of where they lie, and how many had no value (NaN) and were left out."""

    xs: list[float]
    ys: list[float]
    above: int = 0
    below: int = 0
    missing: int = 0


@dataclass(frozen=True, slots=True)
class Chart:
    """A drawn chart and, when data did not fit, a note saying so ("" when all fit)."""

    text: Text
    note: str = ""


def fit(xs: Sequence[float], ys: Sequence[float], low: float, high: float) -> Fitted:
    """Clamp YS into [LOW, HIGH] (±infinity included), drop NaNs, count both."""
    out_x: list[float] = []
    out_y: list[float] = []
    above = below = missing = 0
    for x, y in zip(xs, ys, strict=False):
        if math.isnan(y) or not math.isfinite(x):
            missing += 1
            continue
        if y > high:
            above += 1
            y = high
        elif y < low:
            below += 1
            y = low
        out_x.append(x)
        out_y.append(y)
    return Fitted(out_x, out_y, above, below, missing)


def y_range(values: Sequence[Sequence[float]],
            ylim: tuple[float, float] | None) -> tuple[float, float]:
    """The y range to draw: YLIM when it is usable, else 0 (or the lowest value) to the
    highest, within ±LIMIT and never empty."""
    if ylim is not None and all(math.isfinite(v) for v in ylim) and ylim[0] < ylim[1]:
        return max(-LIMIT, ylim[0]), min(LIMIT, ylim[1])
    finite = [min(LIMIT, max(-LIMIT, v)) for vs in values for v in vs if not math.isnan(v)]
    low = min(0.0, min(finite, default=0.0))
    high = max(finite, default=1.0)
    return (low, high) if high > low else (low, low + 1.0)


def fit_note(fitted: Sequence[Fitted]) -> str:
    """'clamped: 3 above scale, 1 without a value' — or '' when everything fit."""
    above = sum(f.above for f in fitted)
    below = sum(f.below for f in fitted)
    missing = sum(f.missing for f in fitted)
    parts = [f"{above} above scale"] * bool(above) + [f"{below} below scale"] * bool(below)
    parts += [f"{missing} without a value"] * bool(missing)
    return f"clamped: {', '.join(parts)}" if parts else ""


def rgb(color: str) -> tuple[int, int, int]:
    """A colour rich parses, as the RGB triplet plotext takes."""
    triplet = Color.parse(color).get_truecolor()
    return (triplet.red, triplet.green, triplet.blue)


def build(ascii: bool) -> Text:
    """The current plotext figure as Text; box drawing turned to ASCII when asked."""
    import plotext as plt

    drawn = plt.build()
    return Text.from_ansi(drawn.translate(_TO_ASCII) if ascii else drawn, no_wrap=True)


def line_chart(times: Sequence[float], series: Sequence[Series], width: int, height: int,
               ylim: tuple[float, float] | None = None, text_color: str = "grey70",
               ascii: bool = False) -> Chart:
    """A chart of `series` over `times` (seconds, shown relative to the last one), at
    WIDTH x HEIGHT cells. Values outside YLIM (or anything not finite) are clamped to
    the edge and counted in the note; braille dots, or '*' when ASCII."""
    if width < 10 or height < 4 or not times:
        return Chart(Text(""))
    import plotext as plt  # tens of ms: loaded when the first chart is drawn

    low, high = y_range([s.values for s in series], ylim)
    last = times[-1] if math.isfinite(times[-1]) else 0.0
    xs = [t - last for t in times]
    fitted = [fit(xs, s.values, low, high) for s in series]
    plt.clf()
    plt.plotsize(width, height)
    plt.theme("clear")
    for s, points in zip(series, fitted, strict=True):
        if points.xs:
            plt.plot(points.xs, points.ys, color=rgb(s.color), label=s.label,
                     marker="*" if ascii else "braille")
    plt.ylim(low, high)
    finite_xs = [x for x in xs if math.isfinite(x)]
    plt.xlim(max(-LIMIT, min(min(finite_xs, default=-1.0), -1.0)), 0)
    plt.xfrequency(3)
    plt.yfrequency(3)
    plt.ticks_color(rgb(text_color))
    plt.axes_color("default")
    plt.canvas_color("default")
    return Chart(build(ascii), fit_note(fitted))
