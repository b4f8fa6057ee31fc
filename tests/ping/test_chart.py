"""The ping chart as text: outages shaded where they happened, events labelled."""

from __future__ import annotations

from tests.ping.conftest import FakeSim
from vmconsole.monitor.ping import Measurement, ProbeResult, ProbeTarget
from vmconsole.ui.ping_chart import PingChartColors, legend, ping_chart

COLORS = PingChartColors(rtt="#50c878", outage="#d04040", marker="#e0c000", text="#888888")


def session_with(pattern: str) -> Measurement:
    """One probe every 100 ms ending now (a frozen clock): '.' a reply, 'x' lost."""
    sim = FakeSim(scale=0, down_at=0, up_at=0)
    now = sim.now()
    measurement = Measurement(ProbeTarget.sim(sim, "qemu/100"), interval=0.1, timeout=0.2,
                          count=None, duration=60)
    for seq, c in enumerate(pattern):
        sent = now - (len(pattern) - seq) * 0.1
        measurement.record(ProbeResult(seq, sent, 0.0005 if c == "." else None))
    return measurement


def shaded_columns(lines: list[str]) -> set[int]:
    return {i for line in lines for i, ch in enumerate(line) if ch == "░"}


def test_an_outage_is_shaded_where_it_happened_and_events_are_labelled():
    # 30 s of probes; replies stop 12 s before now for 2 s.
    measurement = session_with("." * 180 + "x" * 20 + "." * 100)
    now = measurement.clock()
    measurement.mark("migration started", now - 12.5)
    measurement.mark("migration done", now - 9.8)
    chart = ping_chart(measurement.snapshot(), 80, 16, COLORS)
    lines = chart.text.plain.splitlines()
    assert len(lines) == 16 and all(len(line) <= 80 for line in lines)
    # Events are numbered on the chart and named in the legend, never overlapping.
    assert [m.label for m in chart.markers] == ["migration started", "migration done"]
    # The numbers sit in the canvas's top rows, right of the y ticks' column.
    numbers = {ch for line in lines[1:4] for ch in line[8:] if ch.isdigit()}
    assert numbers == {"1", "2"}, lines[:4]
    assert legend(chart.markers, COLORS).plain == (
        "1\u00a0migration\u00a0started  2\u00a0migration\u00a0done")
    columns = shaded_columns(lines)
    assert columns, "the outage is not shaded"
    # The band sits about 12 s before the right edge, on a 30 s axis of ~72 columns.
    plot_left, plot_right = 6, 78
    per_second = (plot_right - plot_left) / 30
    assert min(columns) >= plot_right - 13 * per_second
    assert max(columns) <= plot_right - 9 * per_second


def test_an_ongoing_outage_reaches_now():
    measurement = session_with("." * 250 + "x" * 50)
    lines = ping_chart(measurement.snapshot(), 80, 16, COLORS).text.plain.splitlines()
    assert max(shaded_columns(lines)) >= 75


def test_no_outage_no_shade():
    lines = ping_chart(session_with("." * 300).snapshot(), 80, 16, COLORS).text.plain.splitlines()
    assert shaded_columns(lines) == set()


def test_too_small_to_draw():
    assert ping_chart(session_with("...").snapshot(), 10, 3, COLORS).text.plain == ""


def test_a_marker_label_with_escapes_is_drawn_as_text():
    from vmconsole.monitor.ping import PingMonitor, ProbeTarget

    monitor = PingMonitor()
    measurement = monitor.start(ProbeTarget.tcp("127.0.0.1", 9), count=1, interval=0.01)
    measurement.mark("\x1b[31mmigration of web\u202e", at=0.0)
    measurement.wait(5.0)
    [marker] = measurement.snapshot().markers
    assert marker.label == "\\x1b[31mmigration of web\\u202e"
    monitor.stop_all(wait=2.0)
