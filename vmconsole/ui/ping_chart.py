"""The ping chart as text: round-trip time over the recent past, outages shaded, events
marked on the time axis by number and listed below the chart ("1 migration started").
Pure plotext (version 5's API) into rich Text.

plotext keeps one global figure: call `ping_chart` only from the event loop's thread
(as vmconsole.ui.plot does), which clears the figure before each chart.

Marker labels are numbers, not words: plotext places text by data coordinates, and where
its y-tick column is wider than guessed, two words written side by side ran into each
other ("migration donetop and copy"); a one-character number cannot, and the legend
below wraps at the panel's width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import plotext as plt
from rich.text import Text

from vmconsole.monitor.ping import Marker, Outage, PingSnapshot
from vmconsole.monitor.ping.measurement import MAX_TIMEOUT
from vmconsole.monitor.ping.report import all_outages
from vmconsole.ui.plot import build, fit, fit_note, rgb

Rgb = tuple[int, int, int]

# The chart's span (`chart_window`): the recent past, or back to the outages of the
# last LONGEST_S.
RECENT_S = 180.0
LONGEST_S = 600.0
_Y_LABEL_WIDTH = 7  # "  12.5┤": the y ticks take about this many columns
# No reply counts after the longest probe timeout: a longer RTT is not a real one.
_MAX_RTT_MS = MAX_TIMEOUT * 1000


@dataclass(frozen=True, slots=True)
class PingChartColors:
    """Colours from the theme, as anything rich parses ("#50c878", "green")."""

    rtt: str
    outage: str
    marker: str
    text: str


@dataclass(frozen=True, slots=True)
class PingChart:
    """The drawn chart; the numbered events it marks, for a legend; and a note when
    some RTT did not fit ("" when all did)."""

    text: Text
    markers: tuple[Marker, ...] = ()
    note: str = ""


def legend(markers: tuple[Marker, ...], colors: PingChartColors) -> Text:
    """"1 migration started  2 stop-and-copy ...": the chart's marks by number, each
    kept whole when the line wraps."""
    out = Text()
    for number, marker in enumerate(markers, 1):
        if number > 1:
            out.append("  ")
        out.append(f"{number}\u00a0", style=colors.marker)
        out.append(marker.label.replace(" ", "\u00a0"))
    return out


def chart_window(snap: PingSnapshot, least: float) -> float:
    """The seconds before now that the chart spans: the measurement so far, at least
    LEAST and at most RECENT_S (3 min); wider, up to LONGEST_S, to keep whole every
    outage that began within LONGEST_S, from a tenth of the span before the first
    one's start. A Proxmox HA failover is down 2-3 min (a 60 s fence delay, the lost
    node's 120 s agent lock, the boot), and where it began is what a class watches
    for, still when the guest fails back minutes later. Ten minutes is ~9 s a column
    on an 80-column screen; the measurement keeps its probes' round trips for ~200 s
    at 10 ms (`KEEP_SAMPLES`), its outages and marks whole."""
    recent = min(max(least, snap.now - snap.covers_from), RECENT_S)
    first: float | None = None
    for outage in reversed(all_outages(snap)):
        if snap.now - outage.start > LONGEST_S:
            break
        first = outage.start
    if first is None:
        return recent
    return max(recent, min((snap.now - first) * 1.1, LONGEST_S))


def _peaks(points: list[tuple[float, float]], start: float, window: float,
           buckets: int) -> tuple[list[float], list[float]]:
    """The highest RTT in each of BUCKETS slices of the window: a spike must survive
    being squeezed into a few columns."""
    top: dict[int, tuple[float, float]] = {}
    for x, y in points:
        slot = min(buckets - 1, int((x - start) / window * buckets))
        if slot not in top or y > top[slot][1]:
            top[slot] = (x, y)
    ordered = [top[k] for k in sorted(top)]
    return [x for x, _ in ordered], [y for _, y in ordered]


def _place_labels(markers: list[Marker], start: float, window: float,
                  columns: int) -> list[tuple[int, str]]:
    """(row, alignment) for each marker's label: it starts at its line ("left"), or ends
    there ("right") near the right edge; a label that would overlap one already placed
    goes a row down (0 = top)."""
    row_ends: list[int] = []  # the first free column of each row
    placed = []
    for marker in markers:
        column = int((marker.time - start) / window * columns)
        align = "left" if column + len(marker.label) < columns else "right"
        first = column if align == "left" else column - len(marker.label)
        row = next((i for i, free in enumerate(row_ends) if first >= free), len(row_ends))
        if row == len(row_ends):
            row_ends.append(0)
        row_ends[row] = first + len(marker.label) + 1
        placed.append((row, align))
    return placed


def _time_ticks(window: float, end: str) -> tuple[list[float], list[str]]:
    """Ticks in seconds before the chart's right edge, which is called END."""
    step = next(s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)
                if window / s <= 4)
    ticks = [-float(step * k) for k in range(int(window // step), -1, -1)]
    return ticks, [(end if t == 0 else f"{t:.0f}s") for t in ticks]


def _shade_outages(outages: list[Outage], start: float, end: float, top: float,
                   min_width: float, color: Rgb, shade: str) -> None:
    for outage in outages:
        left = max(outage.start, start) - end
        right = (end if outage.end is None else outage.end) - end
        plt.rectangle([left, max(right, left + min_width)], [0, top], marker=shade,
                      color=color, fill=True)


def ping_chart(snap: PingSnapshot, width: int, height: int, colors: PingChartColors,
               window: float = 30.0, ascii: bool = False) -> PingChart:
    """The last WINDOW seconds of SNAP at WIDTH x HEIGHT cells (x: seconds before now,
    or before the end of a measurement that has ended: `PingSnapshot.now`).
    An RTT that is not a finite, non-negative number (no prober sends one, but a chart
    must not crash on one) is clamped or left out, and the note says so. ASCII: '*'
    and '#' instead of braille and shading, and +-| axes."""
    if width < 20 or height < 5 or not math.isfinite(snap.now) or window <= 0:
        return PingChart(Text(""))
    end = snap.now
    start = end - window
    shown = [s for s in snap.samples if s.sent >= start]
    replies = fit([s.sent - end for s in shown if s.rtt is not None],
                  [s.rtt * 1000 for s in shown if s.rtt is not None], 0.0, _MAX_RTT_MS)
    lost = [s.sent - end for s in shown if s.rtt is None]
    outages = [o for o in (*snap.outages, snap.ongoing) if o is not None
               and (o.end is None or o.end >= start) and math.isfinite(o.start)
               and (o.end is None or math.isfinite(o.end))]
    markers = tuple(m for m in snap.markers if start <= m.time <= end)
    numbers = [Marker(m.time, str(n)) for n, m in enumerate(markers, 1)]
    canvas_rows = max(3, height - 3)
    labels = _place_labels(numbers, start, window, max(1, width - _Y_LABEL_WIDTH))
    # Labels take the top rows; the y range grows so that the data stays below them.
    label_rows = min(canvas_rows - 2, max((row for row, _ in labels), default=-1) + 1)
    peak = max(0.1, max(replies.ys, default=0.0) * 1.2)
    top = peak * canvas_rows / (canvas_rows - label_rows)

    plt.clf()
    plt.plotsize(width, height)
    plt.theme("clear")
    shade, marker_color = rgb(colors.outage), rgb(colors.marker)
    _shade_outages(outages, start, end, top, window / width, shade, "#" if ascii else "░")
    if lost:
        plt.scatter(lost, [0.0] * len(lost), marker="x", color=shade)
    if replies.xs:
        xs, ys = _peaks(list(zip(replies.xs, replies.ys, strict=True)), -window, window,
                        2 * width)
        plt.scatter(xs, ys, marker="*" if ascii else "braille", color=rgb(colors.rtt))
    for marker, (row, align) in zip(numbers, labels, strict=True):
        plt.vline(marker.time - end, color=marker_color)
        plt.text(marker.label, marker.time - end, top * (1 - row / canvas_rows),
                 color=marker_color, alignment=align)
    plt.xlim(-window, 0)
    plt.ylim(0, top)
    plt.xticks(*_time_ticks(window, "now" if snap.running else "end"))
    plt.yticks([0, top / 2, top], ["0", f"{top / 2:.2g}", f"{top:.2g}ms"])
    plt.ticks_color(rgb(colors.text))
    plt.axes_color("default")
    plt.canvas_color("default")
    return PingChart(build(ascii), markers, fit_note([replies]))
