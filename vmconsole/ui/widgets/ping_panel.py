"""The ping panel: every measurement the console runs, one line each, and the selected
one's live RTT chart with outages shaded and events marked, its statistics, and a line
per outage ("downtime 187 ms, 12 probes lost").

For the app:

    panel = PingPanel()                      # or PingPanel(watches, monitor) to share them
    watch = panel.start(ProbeTarget.icmp(guest.ip))  # a new measurement, selected
    watch = panel.start(ProbeTarget.sim(backend, guest.id, guest.name), duration=900,
                        cluster="lab", guest="qemu/101", why="migration", task=task.id)
    watch.mark("migration started")                  # now, in the measurement's clock
    watch.mark("fenced", at=event.time)              # a ClusterEvent's time
    panel.attach(measurement)                            # show a measurement started elsewhere
    panel.watches.running_on("lab", "qemu/101")      # see monitor.ping.watches
    panel.stop()                                     # the selected measurement

`start` returns at once: the target is resolved and the measurement opened in a thread
worker, and a failure (no ICMP privilege, unknown namespace) shows in the panel. Marks
made before the measurement is running are kept and applied when it starts. Each outage
that ends is also posted as `PingPanel.OutageEnded`, for a notification. The list's
up/down choose the measurement charted; `x` stops the chosen one (or forgets it when it
has ended).

Enter in the address box (`ui.widgets.address_box`) starts probing what was typed.
The view refreshes at 5 Hz while the panel is on screen; its timer is paused while hidden.

(`start` rather than `watch`: every Textual widget already has a `watch` method.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from vmconsole.backends.abilities import SupportsTimeControl
from vmconsole.backends.base import BackendError
from vmconsole.monitor.ping.report import (
    all_outages,
    counts_text,
    format_clock,
    outage_summary,
    sim_resolution,
)
from vmconsole.monitor.ping.watches import Watch, Watches
from vmconsole.text import visible
from vmconsole.ui.styles import LabelStyles, theme_color
from vmconsole.ui.worker_errors import ForwardsWorkerErrors

# The probers (icmplib, namespaces), what to probe and the chart (plotext) are loaded on
# the first measurement, and the address box (`ui.widgets.address_box`) with the panel's
# children.
if TYPE_CHECKING:
    from vmconsole.monitor.ping import Measurement, PingMonitor, PingSnapshot
    from vmconsole.monitor.ping.detector import Outage
    from vmconsole.monitor.ping.targets import ProbeTarget

_REFRESH_HZ = 5
_SHOWN_OUTAGES = 4


@dataclass(frozen=True, slots=True)
class _Request:
    """A measurement to open: its target (made in the worker thread, as resolving a name
    may block), the interval and duration in seconds, and the count of probes."""

    make_target: Callable[[], ProbeTarget]
    interval: float
    duration: float | None
    count: int | None


class PingPanel(ForwardsWorkerErrors, Vertical):
    """The console's ping measurements: a list, and the selected one charted."""

    DEFAULT_CSS = """
    PingPanel { height: 1fr; min-height: 12; border: round $panel-lighten-2;
                border-title-color: $text-muted; }
    PingPanel > Input, PingPanel > Input:focus { height: 1; border: none; padding: 0 1; }
    PingPanel > Input { background: $surface; }
    PingPanel > Input:focus { background: $boost; }
    /* Rows only for what there is to show: the address box while an address is typed
       (or while there is nothing else), the legend when events are marked. */
    PingPanel.measuring > AddressBox { display: none; }
    PingPanel.measuring > AddressBox.editing { display: block; }
    PingPanel > #ping-list { height: auto; max-height: 3; border: none; padding: 0; }
    PingPanel > #ping-chart { height: 1fr; min-height: 5; }
    PingPanel > #ping-legend { height: auto; max-height: 2; padding: 0 1; }
    PingPanel > #ping-stats { height: auto; max-height: 2; color: $text-muted; padding: 0 1; }
    PingPanel > #ping-outages { height: auto; max-height: 4; padding: 0 1; }
    PingPanel > #ping-error { height: auto; color: $error; padding: 0 1; }
    PingPanel > .empty { display: none; }
    """

    BINDINGS = [Binding("x", "stop_selected", "Stop or forget the chosen measurement",
                        show=False, id="ping.stop")]

    class OutageEnded(Message):
        """An outage of one of the panel's targets has ended (posted from the probe
        thread)."""

        def __init__(self, watch: Watch, target: ProbeTarget, outage: Outage) -> None:
            super().__init__()
            self.watch = watch
            self.target = target
            self.outage = outage

    def __init__(self, watches: Watches | None = None, monitor: PingMonitor | None = None, *,
                 window: float = 30.0, ascii: bool = False, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        """`watches`: the measurements to show and add to, where another keeps them
        too (the console's app); `monitor`: one to share (else one made on first use)."""
        super().__init__(name=name, id=id, classes=classes)
        self._own_monitor = monitor is None
        self._monitor = monitor
        self._min_window = window
        self.ascii = ascii  # '*', '#' and +-| for terminals without Unicode
        self.watches = watches if watches is not None else Watches()
        self._selected: Watch | None = None
        self._rows: list[tuple[Watch, str]] = []
        self.border_title = "ping"
        self.border_subtitle = "W address · x stop"

    def compose(self) -> ComposeResult:
        # A panel made hidden has its children made when it is first shown (`build_view`,
        # which the console calls as it makes the panel); one shown from the start has
        # them now.
        if self.display and not self.children:
            yield from self._view()

    @staticmethod
    def _view() -> list[Widget]:
        from vmconsole.ui.widgets.address_box import AddressBox  # loaded when used

        return [AddressBox(placeholder="W: type an address (ICMP) or address:port (TCP)",
                           id="ping-address"),
                OptionList(id="ping-list"), Static(id="ping-chart"),
                Static(id="ping-legend", classes="empty"), Static(id="ping-stats"),
                Static(id="ping-outages"), Static(id="ping-error", classes="empty")]

    def build_view(self) -> None:
        """Make the address box, the list, the chart and the lines under it, unless
        they are there: call it before the panel is first shown. They can be queried
        at once (Textual adds mounted widgets to the DOM before their mount ends)."""
        if not self.children:
            self.mount_all(self._view())

    def on_mount(self) -> None:
        # Paused until the panel is shown, and again whenever it is hidden (Textual's
        # Show and Hide events): the console's panel is hidden most of the time, where
        # five wake-ups a second drew nothing.
        self._refresh_timer = self.set_interval(1 / _REFRESH_HZ, self._refresh_view,
                                                pause=True)

    def on_show(self) -> None:
        self._refresh_timer.resume()

    def on_hide(self) -> None:
        self._refresh_timer.pause()

    def on_unmount(self) -> None:
        self.watches.stop_all()
        if self._own_monitor and self._monitor is not None:
            self._monitor.stop_all(wait=0)  # engines end by themselves; never block here

    # --- the API ------------------------------------------------------------------------

    @property
    def selected(self) -> Watch | None:
        """The measurement charted."""
        return self._selected

    @property
    def measurement(self) -> Measurement | None:
        """The charted measurement (None until it has opened)."""
        return self._selected.measurement if self._selected is not None else None

    def start(self, target: ProbeTarget | Sequence[ProbeTarget], *, interval: float = 0.01,
              duration: float | None = None, count: int | None = None,
              cluster: str | None = None, guest: str | None = None, why: str = "ping",
              task: str | None = None) -> Watch:
        """Probe TARGET in a new measurement, shown at once; bounded by duration or
        count, else by the monitor's default of one hour. Given several targets (a
        guest's addresses), the first that answers is probed (`reach.first_answering`,
        in the worker that opens the measurement)."""
        from vmconsole.monitor.ping.reach import first_answering
        from vmconsole.monitor.ping.targets import ProbeTarget

        targets = [target] if isinstance(target, ProbeTarget) else list(target)
        watch = self.watches.add(Watch(targets[0].label, cluster, guest, why,
                                             [task] if task else []))
        self._open(watch, _Request(partial(first_answering, self._monitor_now(), targets),
                                   interval, duration, count))
        self.select(watch)
        return watch

    def attach(self, measurement: Measurement) -> Watch:
        """Show a measurement started elsewhere (e.g. on a monitor the app shares)."""
        watch = self.watches.add(Watch(measurement.target.label))
        watch.attach(measurement)
        self.select(watch)
        return watch

    def select(self, watch: Watch) -> None:
        """Chart WATCH."""
        self._selected = watch
        self._title(watch)
        self.call_after_refresh(self._refresh_view)

    def _title(self, watch: Watch) -> None:
        """"ping web1 (sim) · 60x: a probe per 600 ms": a simulated guest's title says
        what a probe stands for at the clock's speed, which the teacher may change."""
        measurement = watch.measurement
        source = measurement.target.source if measurement is not None else None
        clock = (f" · {sim_resolution(measurement.interval, source.time_scale)}"
                 if measurement is not None and isinstance(source, SupportsTimeControl)
                 else "")
        title = Text(f"ping {visible(watch.label)}{clock}")  # a name is never markup
        if title != self.border_title:
            self.border_title = title

    def edit_address(self) -> None:
        """Put the focus in the address box, to type an address."""
        from vmconsole.ui.widgets.address_box import AddressBox  # made with the children

        self.query_one(AddressBox).edit()

    def stop(self) -> None:
        """Stop the charted measurement."""
        if self._selected is not None:
            self._selected.end("stopped by the user")

    def action_stop_selected(self) -> None:
        watch = self._selected
        if watch is None:
            return
        if watch.running:
            watch.end("stopped by the user")
        else:
            self.watches.remove(watch)
            self._selected = next(iter(reversed(list(self.watches))), None)
            if self._selected is not None:
                self.select(self._selected)
            else:  # the last one forgotten: nothing of it stays on the panel
                self.border_title = "ping"
                self._show_lines()
        self._refresh_view()

    # --- inside -------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from vmconsole.ui.widgets.address_box import AddressBox, target_from_text  # as above

        event.stop()
        text = event.value.strip()
        box = self.query_one(AddressBox)
        box.action_leave()
        if text:
            box.value = ""
            watch = self.watches.add(Watch(text))
            self._open(watch, _Request(lambda: target_from_text(text), 0.01, None, None))
            self.select(watch)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        index = event.option_index
        if 0 <= index < len(self._rows) and self._rows[index][0] is not self._selected:
            self.select(self._rows[index][0])

    def _monitor_now(self) -> PingMonitor:
        """The panel's monitor, made on first use (its imports are not on the first
        screen)."""
        from vmconsole.monitor.ping import PingMonitor

        if self._monitor is None:
            self._monitor = PingMonitor()
        return self._monitor

    def _open(self, watch: Watch, request: _Request) -> None:
        self._open_in_thread(watch, request, self._monitor_now())

    @work(thread=True, group="ping-open", exit_on_error=False, name="Ping monitor")
    def _open_in_thread(self, watch: Watch, request: _Request, monitor: PingMonitor) -> None:
        # A name lookup or entering a namespace may block: never on the event loop.
        from vmconsole.monitor.ping import NetnsError
        from vmconsole.monitor.ping.targets import ProbeError

        try:
            target = request.make_target()
            measurement = monitor.start(
                target, interval=request.interval, duration=request.duration,
                count=request.count, on_outage=partial(self._outage_ended, watch, target))
        except (ProbeError, NetnsError, ValueError, BackendError) as exc:
            # BackendError: a served console's simulator did not answer (serve/calls.py)
            self.app.call_from_thread(self._failed, watch, str(exc))
            return
        self.app.call_from_thread(self._started, watch, measurement)

    def _outage_ended(self, watch: Watch, target: ProbeTarget, outage: Outage) -> None:
        self.post_message(self.OutageEnded(watch, target, outage))  # thread-safe in Textual

    def _started(self, watch: Watch, measurement: Measurement) -> None:
        if watch.ended:  # ended (its guest vanished) while it was being opened
            measurement.stop()
        watch.attach(measurement)
        if watch is self._selected:
            self.select(watch)

    def _failed(self, watch: Watch, message: str) -> None:
        watch.error = message
        self._refresh_view()

    def _refresh_view(self) -> None:
        if not self.is_on_screen:
            return
        self.build_view()  # shown by its class alone, not through the app's show_ping
        self._refresh_list()
        watch = self._selected
        if watch is None:
            return
        if watch.measurement is None:
            # Only what this target has: a bad address's panel kept the figures of the
            # measurement charted before it, frozen, under the bad address's title.
            found = watch.result_text()  # "starting…", "not measured: <the prober's words>"
            if watch.error:
                self._show_lines(error=found)
            else:
                self._show_lines(stats=Text(found))
            return
        chart = self.query_one("#ping-chart", Static)
        from vmconsole.ui.ping_chart import PingChartColors, chart_window, legend, ping_chart

        snap = watch.measurement.snapshot()
        self._title(watch)
        variables = self.app.theme_variables
        colors = PingChartColors(
            rtt=theme_color(variables, "success", "green"),
            outage=theme_color(variables, "error", "red"),
            marker=theme_color(variables, "warning", "yellow"),
            text=theme_color(variables, "foreground-muted", "grey50"))
        size = chart.content_size
        drawn = ping_chart(snap, size.width, size.height, colors,
                           chart_window(snap, self._min_window), self.ascii)
        line = legend(drawn.markers, colors)
        if drawn.note:
            line.append(f"  {drawn.note}", style=colors.outage)
        self._show_lines(drawn.text, line, Text(self._stats_line(snap)),
                         self._outage_lines(snap),
                         f"ended: {watch.ended}" if watch.ended else "")

    def _show_lines(self, chart: Text | None = None, marks: Text | None = None,
                    stats: Text | None = None, outages: Text | None = None,
                    error: str = "") -> None:
        """The chart and the lines under it: the events it numbers, the counts and RTT,
        the outages, and why the measurement did not open or ended early (words from
        outside: shown as `visible` makes them). A line not given is left empty, and
        takes no row; the chart keeps its rows."""
        self.query_one("#ping-chart", Static).update(chart or Text(""))
        for part, text in (("#ping-legend", marks), ("#ping-stats", stats),
                           ("#ping-outages", outages),
                           ("#ping-error", Text(visible(error, None)))):
            shown = self.query_one(part, Static)
            shown.update(text or Text(""))
            shown.set_class(not text, "empty")

    def _refresh_list(self) -> None:
        """One line per measurement; rebuilt only when a line changed."""
        styles = LabelStyles.from_variables(self.app.theme_variables)
        rows = [(w, self._row_text(w)) for w in self.watches]
        if rows == self._rows:
            return
        self._rows = rows
        options = self.query_one("#ping-list", OptionList)
        options.clear_options()
        for watch, text in rows:
            style = styles.accent if watch.running else styles.muted
            options.add_option(Option(Text(text, style=style, no_wrap=True,
                                           overflow="ellipsis")))
        index = next((i for i, (w, _) in enumerate(rows) if w is self._selected), None)
        if index is not None:
            options.highlighted = index
        options.display = bool(rows)
        self.set_class(bool(rows), "measuring")

    def _row_text(self, watch: Watch) -> str:
        state = ("*" if self.ascii else "●") if watch.running else (
            "#" if self.ascii else "■")
        found = visible(watch.result_text(), None)  # an error's words come from outside
        return f"{state} {visible(watch.label)} · {watch.why} · {found}"

    @staticmethod
    def _stats_line(snap: PingSnapshot) -> str:
        state = "" if snap.running else "ended · "
        rtt = snap.rtt
        figures = (f"rtt {rtt.min * 1000:.2f}/{rtt.avg * 1000:.2f}/{rtt.max * 1000:.2f} ms"
                   if rtt.count else "no reply yet")
        return f"{state}{counts_text(snap)} · {figures}"

    def _outage_lines(self, snap: PingSnapshot) -> Text:
        styles = LabelStyles.from_variables(self.app.theme_variables)
        outages = all_outages(snap)
        if not outages:
            return Text("no outage", style=styles.ok)
        lines = Text()
        for outage in reversed(outages[-_SHOWN_OUTAGES:]):
            style = styles.bad if outage.ongoing else styles.warn
            lines.append(f"{format_clock(outage.start)}  ", style=styles.muted)
            lines.append(outage_summary(outage) + "\n", style=style)
        if len(outages) > _SHOWN_OUTAGES:
            lines.append(f"… and {len(outages) - _SHOWN_OUTAGES} earlier", style=styles.muted)
        lines.rstrip()
        return lines
