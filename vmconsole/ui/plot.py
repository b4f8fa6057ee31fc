"""Line charts drawn by plotext into rich Text.

plotext keeps one global figure, so charts are drawn only from the event loop's
thread, one at a time, and the figure is cleared before each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotext as plt
from rich.color import Color
from rich.text import Text


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: Sequence[float]
    color: str  # any colour rich parses: "#50c878", "green"


def _rgb(color: str) -> tuple[int, int, int]:
    triplet = Color.parse(color).get_truecolor()
    return (triplet.red, triplet.green, triplet.blue)


def line_chart(times: Sequence[float], series: Sequence[Series], width: int, height: int,
               ylim: tuple[float, float] | None = None, text_color: str = "grey70") -> Text:
    """A chart of `series` over `times` (seconds, shown relative to the last one)."""
    if width < 10 or height < 4 or not times:
        return Text("")
    plt.clf()
    plt.plotsize(width, height)
    plt.theme("clear")
    xs = [t - times[-1] for t in times]
    for s in series:
        plt.plot(xs, list(s.values), color=_rgb(s.color), label=s.label, marker="braille")
    if ylim is not None:
        plt.ylim(*ylim)
    plt.xlim(min(xs[0], -1.0), 0)
    plt.xfrequency(3)
    plt.yfrequency(3)
    plt.ticks_color(_rgb(text_color))
    plt.axes_color("default")
    plt.canvas_color("default")
    return Text.from_ansi(plt.build(), no_wrap=True)
