"""The ping panel: one target's live RTT chart with outages shaded and events marked, the
running statistics, and a line per outage ("downtime 187 ms, 12 probes lost").

For the app:

    panel = PingPanel()                      # or PingPanel(monitor) to share a monitor
    panel.start(ProbeTarget.icmp(guest.ip))  # replaces the session it had
    panel.start(ProbeTarget.sim(backend, guest.id, guest.name), duration=900)
    panel.mark("migration started")          # now, in the session's clock
    panel.mark("fenced", at=event.time)      # a ClusterEvent's time (same clock as the sim)
    panel.attach(session)                    # show a session started elsewhere
    panel.stop()

`start` returns at once: the target is resolved and the session opened in a thread
worker, and a failure (no ICMP privilege, unknown namespace) shows in the panel. Marks
made before the session is running are kept and applied when it starts. Each outage
that ends is also posted as `PingPanel.OutageEnded`, for a notification. A user can type
any address in the panel's input: `ADDRESS` for ICMP, `ADDRESS:PORT` for TCP. The view
refreshes at 5 Hz, and only while the panel is on screen.

(`start` rather than `watch`: every Textual widget already has a `watch` method.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Static

from vmconsole.monitor.ping import (
    Marker,
    NetnsError,
    Outage,
    PingMonitor,
    PingSession,
    PingSnapshot,
    ProbeError,
    ProbeTarget,
)
from vmconsole.monitor.ping.report import (
    all_outages,
    counts_text,
    format_clock,
    outage_summary,
)
from vmconsole.text import visible_lines
from vmconsole.ui.labels import LabelStyles, theme_color
from vmconsole.ui.ping_chart import PingChartColors, ping_chart
from vmconsole.ui.worker_errors import ForwardsWorkerErrors

_REFRESH_HZ = 5
_SHOWN_OUTAGES = 4
_TCP_ADDRESS = re.compile(r"^\[?(?P<host>[^\]]+?)\]?:(?P<port>\d{1,5})$")


def target_from_text(text: str) -> ProbeTarget:
    """"10.0.0.5" is ICMP; "10.0.0.5:22" (or "[::1]:22") is TCP. May resolve a name."""
    text = text.strip()
    tcp = _TCP_ADDRESS.match(text)
    # An IPv6 address has colons of its own: there only "[address]:port" means TCP.
    if tcp and (text.startswith("[") or text.count(":") == 1):
        return ProbeTarget.tcp(tcp["host"], int(tcp["port"]))
    return ProbeTarget.icmp(text)


@dataclass(frozen=True, slots=True)
class _Request:
    make_target: Callable[[], ProbeTarget]
    interval: float
    duration: float | None
    count: int | None


class PingPanel(ForwardsWorkerErrors, Vertical):
    """A ping monitor view for one target at a time."""

    DEFAULT_CSS = """
    PingPanel { height: 1fr; min-height: 14; border: round $panel-lighten-2;
                border-title-color: $text-muted; }
    PingPanel > Input, PingPanel > Input:focus { height: 1; border: none; padding: 0 1; }
    PingPanel > Input { background: $surface; }
    PingPanel > Input:focus { background: $boost; }
    PingPanel > #ping-chart { height: 1fr; min-height: 6; }
    PingPanel > #ping-stats { height: 1; color: $text-muted; padding: 0 1; }
    PingPanel > #ping-outages { height: auto; max-height: 5; padding: 0 1; }
    PingPanel > #ping-error { height: auto; color: $error; padding: 0 1; }
    """

    class OutageEnded(Message):
        """An outage of the panel's target has ended (posted from the probe thread)."""

        def __init__(self, target: ProbeTarget, outage: Outage) -> None:
            super().__init__()
            self.target = target
            self.outage = outage

    def __init__(self, monitor: PingMonitor | None = None, *, window: float = 30.0,
                 name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._own_monitor = monitor is None
        self._monitor = monitor or PingMonitor()
        self._min_window = window
        self._session: PingSession | None = None
        self._early_marks: list[Marker | str] = []
        self.border_title = "ping"

    def compose(self) -> ComposeResult:
        yield Input(placeholder="address to ping (ICMP), or address:port (TCP)",
                    id="ping-address")
        yield Static(id="ping-chart")
        yield Static(id="ping-stats")
        yield Static(id="ping-outages")
        yield Static(id="ping-error")

    def on_mount(self) -> None:
        self.set_interval(1 / _REFRESH_HZ, self._refresh_view)

    def on_unmount(self) -> None:
        self.stop()
        if self._own_monitor:
            self._monitor.stop_all(wait=0)  # engines end by themselves; never block here

    # --- the API ------------------------------------------------------------------------

    @property
    def session(self) -> PingSession | None:
        return self._session

    def start(self, target: ProbeTarget, *, interval: float = 0.01,
              duration: float | None = None, count: int | None = None) -> None:
        """Probe TARGET (replacing the current session); bounded by duration or count,
        else by the monitor's default of one hour."""
        self._open(_Request(lambda: target, interval, duration, count))

    def attach(self, session: PingSession) -> None:
        """Show a session started elsewhere (e.g. on a monitor the app shares)."""
        self._started(session)

    def mark(self, label: str, at: float | None = None) -> None:
        """An event marker at AT (default now) in the session's clock."""
        if self._session is None or not self._session.running:
            self._early_marks.append(label if at is None else Marker(at, label))
            return
        self._session.mark(label, at)

    def stop(self) -> None:
        if self._session is not None:
            self._session.stop()

    # --- inside -------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if text:
            self._open(_Request(lambda: target_from_text(text), 0.01, None, None))

    @work(thread=True, exclusive=True, group="ping-open", exit_on_error=False,
          name="Ping monitor")
    def _open(self, request: _Request) -> None:
        # A name lookup or entering a namespace may block: never on the event loop.
        try:
            target = request.make_target()
            session = self._monitor.start(
                target, interval=request.interval, duration=request.duration,
                count=request.count, on_outage=partial(self._outage_ended, target))
        except (ProbeError, NetnsError, ValueError) as exc:
            self.app.call_from_thread(self._show_error, str(exc))
            return
        self.app.call_from_thread(self._started, session)

    def _outage_ended(self, target: ProbeTarget, outage: Outage) -> None:
        self.post_message(self.OutageEnded(target, outage))  # thread-safe in Textual

    def _started(self, session: PingSession) -> None:
        self.stop()
        self._session = session
        for mark in self._early_marks:
            if isinstance(mark, Marker):
                session.mark(mark.label, mark.time)
            else:
                session.mark(mark)
        self._early_marks.clear()
        # Content, not str: a border title given as a str is read as markup.
        self.border_title = Content(f"ping {session.target.label}")
        self.query_one("#ping-error", Static).update("")
        self.call_after_refresh(self._refresh_view)

    def _show_error(self, message: str) -> None:
        self.query_one("#ping-error", Static).update(Text(visible_lines(message)))

    def _refresh_view(self) -> None:
        if self._session is None or not self.is_on_screen:
            return
        snap = self._session.snapshot()
        variables = self.app.theme_variables
        colors = PingChartColors(
            rtt=theme_color(variables, "success", "green"),
            outage=theme_color(variables, "error", "red"),
            marker=theme_color(variables, "warning", "yellow"),
            text=theme_color(variables, "foreground-muted", "grey50"))
        chart = self.query_one("#ping-chart", Static)
        window = min(max(self._min_window, snap.now - snap.started), 180.0)
        size = chart.content_size
        chart.update(ping_chart(snap, size.width, size.height, colors, window))
        self.query_one("#ping-stats", Static).update(Text(self._stats_line(snap)))
        self.query_one("#ping-outages", Static).update(self._outage_lines(snap))

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
