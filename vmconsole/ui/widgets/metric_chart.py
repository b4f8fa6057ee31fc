"""A plotext line chart of one figure over the recent past; drawn only when shown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.timer import Timer
from textual.widget import Widget

from vmconsole.ui.styles import theme_color

if TYPE_CHECKING:  # plotted only once a node or guest is shown, never on the first screen
    from vmconsole.ui.plot import Series

# How long a chart of a newly selected object waits for the keys to stop, in seconds:
# drawing three charts with plotext took about a third of a cursor key's time, paid
# for every object a held key passes over (issue 12).
SETTLE = 0.08


class MetricChart(Widget):
    """Set data with `show()`; the chart is drawn at render time, at the widget's size,
    so a hidden chart costs nothing."""

    DEFAULT_CSS = """
    MetricChart {
        height: 9;
        border-title-color: $text-muted;
        border-subtitle-color: $warning;
        border: round $panel-lighten-2;
    }
    """

    def __init__(self, title: str, unit: str = "", ascii: bool = False,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.ascii = ascii  # '*' and +-| for terminals without Unicode
        self.border_title = f"{title} ({unit})" if unit else title
        self._times: Sequence[float] = ()
        self._series: Sequence[Series] = ()
        self._ylim: tuple[float, float] | None = None
        self._settling: Timer | None = None  # a new object's chart, waiting to be drawn

    def show(self, times: Sequence[float], series: Sequence[Series],
             ylim: tuple[float, float] | None = None, settle: bool = False) -> None:
        """Chart `series` over `times` (epoch seconds) within `ylim`; no series at all:
        the source does not report the figure, which is said, never drawn as zero.
        Repainted only when any of them differs from what the chart shows (a poll that
        brings no new sample must cost no paint). `settle` (the selection moved to
        another object): the chart is blank until no other `settle` came for SETTLE
        seconds, so that a held cursor key moves without drawing every chart passed."""
        if (times, series, ylim) == (self._times, self._series, self._ylim):
            return
        self._times, self._series, self._ylim = times, series, ylim
        if self._settling is not None:
            self._settling.stop()
            self._settling = None
        if settle:
            self._settling = self.set_timer(SETTLE, self._settled)
        self.refresh()

    @property
    def settling(self) -> bool:
        """Blank for now: a newly selected object's chart, waiting SETTLE seconds."""
        return self._settling is not None

    def _settled(self) -> None:
        self._settling = None
        self.refresh()

    def render(self) -> Text:
        if self._settling is not None:
            return Text("")
        if not self._series:  # the source has none of the figures this chart shows
            self.border_subtitle = None
            return Text("not reported by this cluster's API", style="italic")
        if len(self._times) < 2:
            return Text("collecting samples…", style="italic")
        from vmconsole.ui.plot import line_chart

        muted = theme_color(self.app.theme_variables, "foreground-muted", "grey50")
        chart = line_chart(self._times, self._series, self.content_size.width,
                           self.content_size.height, self._ylim, muted, ascii=self.ascii)
        # On the bottom border: what did not fit ("clamped: 5 above scale").
        self.border_subtitle = chart.note or None
        return chart.text
