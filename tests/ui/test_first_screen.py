"""The first screen builds only what it shows (issue 12): the ping panel's address box,
list and chart and the tree's filter box are made when first asked for, and then work
as if they had always been there."""

from __future__ import annotations

from textual.widgets import Input

from vmconsole.ui.widgets.cluster_tree import ClusterTree
from vmconsole.ui.widgets.ping_panel import PingPanel


async def test_hidden_panels_are_made_when_first_shown(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        app = c.app
        assert not app.query("#filter") and not app.query("#ping-address")
        assert not app.query_one(PingPanel).children

        await pilot.press("slash", "w", "e", "b")
        box = app.query_one("#filter", Input)
        assert box.value == "web" and app.focused is box
        await pilot.press("escape")
        assert isinstance(app.focused, ClusterTree)

        await pilot.press("W")  # an address to ping: the panel, its box focused
        await pilot.pause()
        address = app.query_one("#ping-address", Input)
        assert app.query_one(PingPanel).has_class("visible")
        assert app.focused is address
        await pilot.press("1", "2", "7")
        assert address.value == "127"
