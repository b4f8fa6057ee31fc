"""Snapshots of the main screen at 80x24 and 120x40, one per built-in theme, with the
simulator's clock frozen and its seed fixed (regenerate with --snapshot-update)."""

from __future__ import annotations

import pytest

from tests.ui_ops.helpers import settled
from vmconsole.actor import Actor, Role
from vmconsole.ui.widgets.metric_chart import MetricChart

THEMES = ["vmconsole-dark", "vmconsole-light", "vmconsole-high-contrast"]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("theme", THEMES)
def test_main_screen(snap_compare, console_factory, theme, size):
    c = console_factory(theme=theme, actor=Actor("student", Role.OPERATOR))

    async def run_before(pilot) -> None:
        for _ in range(12):
            c.poll(advance=5.0)
            await pilot.pause()
        await pilot.press("j", "j")  # the first guest: facts and graphs
        for chart in c.app.query(MetricChart):
            await settled(pilot, chart)

    assert snap_compare(c.app, terminal_size=size, run_before=run_before)
