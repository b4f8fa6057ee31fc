"""Charts never crash, whatever the data: a value outside the range is drawn at the edge
and the chart says so; NaN, infinity, negative and huge figures included. Plain
terminals get ASCII charts."""

from __future__ import annotations

import math

import pytest

from tests.ping.conftest import FakeSim
from tests.ui_ops.helpers import settled
from vmconsole.backends.base import MetricSample
from vmconsole.monitor.ping import Measurement, ProbeResult, ProbeTarget
from vmconsole.ui.ping_chart import PingChartColors, ping_chart
from vmconsole.ui.plot import Series, line_chart
from vmconsole.ui.widgets.cluster_tree import TreeRef
from vmconsole.ui.widgets.detail_pane import DetailPane
from vmconsole.ui.widgets.metric_chart import MetricChart

HOSTILE = {
    "all above the limit": [5.0, 6.0, 7.0],
    "NaN": [math.nan, math.nan, math.nan],
    "some NaN": [0.5, math.nan, 0.7],
    "infinity": [math.inf, 0.5, -math.inf],
    "negative": [-5.0, -3.0, -1.0],
    "huge": [1e300, 1e308, 1.7e308],
    "tiny": [1e-300, 0.0, 5e-324],
}
COLORS = PingChartColors(rtt="#50c878", outage="#d04040", marker="#e0c000", text="#888888")


@pytest.mark.parametrize("values", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("ylim", [(0.0, 1.0), None, (math.nan, 1.0), (2.0, 2.0)])
@pytest.mark.parametrize("ascii", [False, True])
def test_any_data_draws(values, ylim, ascii):
    chart = line_chart([0.0, 1.0, 2.0], [Series("s", values, "green")], 40, 9, ylim,
                       ascii=ascii)
    lines = chart.text.plain.splitlines()
    assert len(lines) == 9 and all(len(line) <= 40 for line in lines)
    if ascii:
        assert chart.text.plain.isascii(), "braille or box drawing on a plain terminal"


def test_values_above_the_limit_are_clamped_and_said():
    chart = line_chart([0.0, 1.0, 2.0], [Series("used", [5.0, 6.0, 0.5], "green")], 40, 9,
                       (0.0, 1.0))
    assert chart.note == "clamped: 2 above scale"
    assert line_chart([0.0, 1.0], [Series("s", [math.nan, 0.2], "green")], 40, 9,
                      (0.0, 1.0)).note == "clamped: 1 without a value"
    assert line_chart([0.0, 1.0], [Series("s", [0.1, 0.2], "green")], 40, 9,
                      (0.0, 1.0)).note == ""


def test_braille_by_default_ascii_on_request():
    series = [Series("s", [0.1, 0.9, 0.4, 0.6], "green")]
    unicode = line_chart([0.0, 1.0, 2.0, 3.0], series, 40, 9, (0.0, 1.0)).text.plain
    assert any(0x2800 <= ord(ch) <= 0x28FF for ch in unicode)
    assert line_chart([0.0, 1.0, 2.0, 3.0], series, 40, 9, (0.0, 1.0),
                      ascii=True).text.plain.isascii()


@pytest.mark.parametrize("rtt", [math.nan, math.inf, -0.001, 1e300])
@pytest.mark.parametrize("ascii", [False, True])
def test_the_ping_chart_survives_any_rtt(rtt, ascii):
    sim = FakeSim(scale=0, down_at=0, up_at=0)
    measurement = Measurement(ProbeTarget.sim(sim, "qemu/100"), interval=0.1, timeout=0.2,
                          count=None, duration=60)
    for seq in range(100):
        measurement.record(ProbeResult(seq, sim.now() - (100 - seq) * 0.1,
                                   rtt if seq % 10 == 0 else (None if seq % 7 == 0 else 0.001)))
    measurement.mark("migration started", sim.now() - 5)
    chart = ping_chart(measurement.snapshot(), 60, 12, COLORS, ascii=ascii)
    assert len(chart.text.plain.splitlines()) == 12
    if ascii:
        assert chart.text.plain.isascii()
    if math.isnan(rtt):
        assert chart.note == "clamped: 10 without a value"
    assert [m.label for m in chart.markers] == ["migration started"]


async def test_a_host_using_more_memory_than_it_has_is_charted_not_fatal(console_factory):
    # libvirt reports used memory above the total for some hosts: the console died with
    # an IndexError inside plotext.
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        inventory = c.loop.poller.inventory
        samples = [MetricSample(t, 0.5, 12 * 2**30, 8 * 2**30, 1.0, 1.0)
                   for t in (100.0, 101.0, 102.0)]
        c.app.query_one(DetailPane).show(TreeRef("lab", "node/pve1"), inventory, None,
                                         samples)
        await pilot.pause()
        memory = c.app.query_one("#chart-mem", MetricChart)
        await settled(pilot, memory)
        assert c.app.is_running
        assert memory.border_subtitle == "clamped: 3 above scale"
