"""80x24, the size of an SSH session: the teaching panel takes only the rows it fills,
the detail pane says that it scrolls and does, and the ping panel's text and chart fit."""

from __future__ import annotations

import asyncio
import time

from rich.console import Console
from textual.widgets import Static

from tests.ui_ops.helpers import wait_until
from vmconsole.backends.base import MigrationMode
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef
from vmconsole.ui.widgets.detail_pane import DetailPane
from vmconsole.ui.widgets.metric_chart import MetricChart
from vmconsole.ui.widgets.ping_panel import PingPanel
from vmconsole.ui.widgets.teaching_panel import TeachingPanel


async def graphs_laid_out(pilot, detail: DetailPane) -> MetricChart:
    """Wait until the pane shows the guest just selected with its graphs (made when
    first needed) laid out: on a short screen, below its facts, so that the pane
    scrolls. Returns the network graph, the last."""

    def network() -> MetricChart | None:
        return detail.query_one_optional("#chart-net", MetricChart)

    await wait_until(pilot, lambda: (chart := network()) is not None and chart.region.height
                     and detail.max_scroll_y > 0, 10, "the guest's graphs in the detail pane",
                     seen=lambda: f"network graph {network()}, scrolls {detail.max_scroll_y}")
    chart = network()
    assert chart is not None
    return chart


async def scrolled_to_the_end(pilot, detail: DetailPane) -> None:
    await wait_until(pilot, lambda: detail.scroll_y == detail.max_scroll_y > 0, 10,
                     "the detail pane at its end",
                     seen=lambda: f"at {detail.scroll_y} of {detail.max_scroll_y}")


async def test_at_80x24_the_guest_graphs_are_reachable_and_said_to_be(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(80, 24)) as pilot:
        for _ in range(4):
            c.poll(advance=5.0)
            await pilot.pause()
        teaching = c.app.query_one(TeachingPanel)
        assert teaching.has_class("visible")
        # Nothing narrated yet: its edge, the status line and one line, not 7 rows.
        assert teaching.outer_size.height <= 3, teaching.outer_size
        teaching.add_lines([f"line {i}" for i in range(10)])
        await pilot.pause()
        assert teaching.outer_size.height == 5, "at most 5 rows on a short screen"
        c.app.query_one(ClusterTree).select_ref(TreeRef("lab", "qemu/100"))
        detail = c.app.query_one(DetailPane)
        network = await graphs_laid_out(pilot, detail)
        assert network.region.height == 7, "smaller graphs on a short screen"
        assert detail.max_scroll_y > 0
        assert "more below" in str(detail.border_title)
        await pilot.press("tab")
        assert c.app.focused is detail
        await pilot.press("end")
        await scrolled_to_the_end(pilot, detail)
        assert detail.region.contains_region(network.region), "the last graph is unreachable"
        assert "more below" not in str(detail.border_title)


async def test_at_80x24_the_ping_panel_fits_and_labels_never_overlap(console_factory):
    c = console_factory()
    c.backend.sim.guests["qemu/100"].ha = None  # QEMU's own migration, not an HA request
    async with c.app.run_test(size=(80, 24)) as pilot:
        c.poll()
        await pilot.pause()
        c.app.query_one(ClusterTree).select_ref(TreeRef("lab", "qemu/100"))
        await pilot.press("w")
        c.backend.migrate("qemu/100", "pve2", MigrationMode.LIVE)
        for _ in range(30):
            c.poll(advance=1.0)
            await pilot.pause()
        panel = c.app.query_one(PingPanel)
        deadline = time.monotonic() + 5
        while len(panel.measurement.snapshot().markers if panel.measurement else ()) < 3:
            assert time.monotonic() < deadline, "the migration's events were not marked"
            await asyncio.sleep(0.05)
        legend = panel.query_one("#ping-legend", Static)
        labels = [label.replace(" ", "\u00a0")
                  for label in ("migration started", "stop and copy", "migration done")]
        await wait_until(pilot, lambda: all(label in str(legend.render()) for label in labels),
                         10, "the panel refreshed with the events marked",
                         seen=lambda: str(legend.render()))
        assert not c.app.query_one(DetailPane).display, "the ping panel has the column"
        assert panel.region.height >= 14  # the main area, less the events
        for static in panel.query(Static):
            if not static.display or static.id == "ping-chart":
                continue
            # Wrapped at the width it has, the text needs no more rows than it was given.
            console = Console(width=static.content_region.width, record=True)
            console.print(static.render())
            needed = len(console.export_text().rstrip("\n").splitlines())
            assert needed <= static.content_region.height, (static.id, needed)
        chart = panel.query_one("#ping-chart", Static)
        text = str(chart.render())
        assert "migration" not in text, "words on the chart: they ran into each other"


async def keys_reach_the_tree(pilot, app, hides: str, pane) -> None:
    """With the focus in `pane`, the key `hides` hides it: the focus is the tree's and
    `j` moves its cursor."""
    tree = app.query_one(ClusterTree)
    # as Tab would: the pane, or its first widget that takes the focus (the events' log)
    (pane if pane.focusable else next(w for w in pane.query("*") if w.focusable)).focus()
    await pilot.pause()
    assert app.focused is not None and pane in app.focused.ancestors_with_self
    before = tree.selected_ref()
    await pilot.press(hides)
    await pilot.pause()
    assert app.focused is tree, (hides, app.focused)
    await pilot.press("j")
    assert tree.selected_ref() != before, "j moves in the tree"


async def test_at_80x24_hiding_a_focused_panel_gives_the_tree_the_keys_and_the_events_back(
        console_factory):
    c = console_factory()
    async with c.app.run_test(size=(80, 24)) as pilot:
        c.poll()
        await pilot.pause()
        teaching = c.app.query_one(TeachingPanel)
        tasks = c.app.query_one("#tasks")
        assert teaching.has_class("visible")
        await pilot.press("t")
        assert not teaching.has_class("visible"), "the panels take turns"
        await keys_reach_the_tree(pilot, c.app, "t", tasks)
        assert teaching.has_class("visible"), "the panel that gave way comes back"
        await keys_reach_the_tree(pilot, c.app, "e", teaching)
        await pilot.press("t", "e")  # the events shown: the task log gives way
        assert teaching.has_class("visible") and not tasks.has_class("visible")
        await keys_reach_the_tree(pilot, c.app, "e", teaching)
        assert tasks.has_class("visible"), "the task log comes back"
        await keys_reach_the_tree(pilot, c.app, "e", tasks)  # the events take its place
        assert teaching.has_class("visible") and not tasks.has_class("visible")


async def test_at_80x24_the_ping_panel_taking_the_focused_detail_pane_keeps_the_keys(
        console_factory):
    c = console_factory()
    async with c.app.run_test(size=(80, 24)) as pilot:
        c.poll()
        await pilot.pause()
        c.app.query_one(ClusterTree).select_ref(TreeRef("lab", "qemu/100"))
        detail = c.app.query_one(DetailPane)
        # the ping panel takes the detail pane's column
        await keys_reach_the_tree(pilot, c.app, "w", detail)
        assert not detail.display


async def test_at_50_columns_the_facts_stack_each_value_under_its_key(console_factory):
    """A tester's finding: at 50x15 the detail pane (19 cells) kept its 20-cell key
    column, so every line ran past its edge and Textual wrapped it again ("quorate, 3",
    a blank line, "   of 3 votes")."""
    from rich.cells import cell_len

    c = console_factory()
    async with c.app.run_test(size=(50, 15)) as pilot:
        c.poll()
        await pilot.pause()
        facts = c.app.query_one("#facts", Static)
        lines = facts.visual.plain.splitlines()
        assert lines[:2] == ["Cluster", "  lab"], lines
        assert all(cell_len(line) <= facts.content_size.width for line in lines), lines
        assert "Quorum" in lines and "" not in lines


async def test_at_80x24_the_task_log_shown_keeps_the_cursor_row_in_view(console_factory):
    """A tester's finding: G (the last row), then t: the tree shrank to 10 rows under
    the task log, showing neither the last row nor the cursor, and keys acted on a row
    no one could see."""
    c = console_factory()
    async with c.app.run_test(size=(80, 24)) as pilot:
        c.poll()
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        await pilot.press("G")
        await pilot.pause()
        last = tree.cursor_node
        assert last is not None and last.data is not None and last.data.is_storage
        tall = tree.scrollable_content_region.height
        await pilot.press("t")

        def cursor_row_in_view() -> bool:
            top = int(tree.scroll_y)
            return top <= tree.cursor_line < top + tree.scrollable_content_region.height

        for _ in range(20):  # the layout, then the scroll it asks for
            await pilot.pause()
            if tree.scrollable_content_region.height < tall and cursor_row_in_view():
                break
        assert tree.scrollable_content_region.height < tall, "the task log took rows"
        assert tree.cursor_node is last
        assert cursor_row_in_view(), (tree.cursor_line, tree.scroll_y,
                                      tree.scrollable_content_region.height)
        assert "san storage" in "\n".join(
            "".join(s.text for s in tree.render_line(y))
            for y in range(tree.scrollable_content_region.height))


async def test_in_ascii_the_detail_pane_names_the_key_that_scrolls_it(console_factory):
    """A tester's finding: in ASCII the title said `v more below (Tab here, then v)`, the
    arrow become a `v`, and the v key does nothing there. It names the Down key."""
    c = console_factory(ascii=True)
    async with c.app.run_test(size=(80, 24)) as pilot:
        c.poll()
        c.app.query_one(ClusterTree).select_ref(TreeRef("lab", "qemu/100"))
        detail = c.app.query_one(DetailPane)
        deadline = time.monotonic() + 10
        while "more below" not in str(detail.border_title):
            assert time.monotonic() < deadline, detail.border_title
            await pilot.pause(0.05)
        assert str(detail.border_title) == "detail: more below (Tab here, then Down)"
        await pilot.press("tab", "down")
        while detail.scroll_y == 0:
            assert time.monotonic() < deadline, "the Down key did not scroll the pane"
            await pilot.pause(0.05)
        assert str(detail.border_title) == "detail: more below"


async def test_at_80x24_a_new_selection_shows_its_facts_from_the_top(console_factory):
    """A tester's finding: scrolled down to the graphs, back in the tree, j showed the
    next guest's graphs with no name above them and no word of more above; and the
    focused pane's title still said "Tab here"."""
    c = console_factory()
    async with c.app.run_test(size=(80, 24)) as pilot:
        for _ in range(3):
            c.poll(advance=5.0)
            await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        tree.select_ref(TreeRef("lab", "qemu/100"))
        detail = c.app.query_one(DetailPane)
        await graphs_laid_out(pilot, detail)
        assert "Tab here" in str(detail.border_title)
        await pilot.press("tab")
        await pilot.pause()
        assert c.app.focused is detail
        assert str(detail.border_title) == "detail ↓ more below", "Tab is done already"
        await pilot.press("end")
        await scrolled_to_the_end(pilot, detail)
        c.poll(advance=5.0)  # the same guest's new figures keep the scroll
        last = c.loop.latest
        await wait_until(pilot, lambda: c.app.latest["lab"] is last, 10, "the poll shown")
        await pilot.pause()  # the pane redrawn with it
        assert detail.scroll_y > 0
        await pilot.press("shift+tab", "j")
        assert tree.selected_ref() != TreeRef("lab", "qemu/100")
        facts = c.app.query_one("#facts", Static)
        # the facts' region is the compositor's: it follows the scroll a frame later
        await wait_until(pilot, lambda: detail.scroll_y == 0 and
                         detail.region.contains_region(facts.region), 10,
                         "the next guest's facts from the top",
                         seen=lambda: f"scrolled to {detail.scroll_y}, facts at "
                                      f"{facts.region} in {detail.region}")
        assert "Tab here" in str(detail.border_title)


async def test_walking_the_guests_keeps_their_values_in_one_column(console_factory):
    """A tester's finding: the key column was as wide as each guest's longest key (12
    cells for web1, under HA, 11 for test1), so the values moved a cell from guest to
    guest."""
    c = console_factory()
    async with c.app.run_test(size=(80, 24)) as pilot:
        c.poll()
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        facts = c.app.query_one("#facts", Static)
        inventory = c.loop.poller.inventory
        columns: dict[str, int] = {}
        for guest in inventory.guests:
            tree.select_ref(TreeRef("lab", guest.id))
            await pilot.pause()
            status = next(line for line in facts.visual.plain.splitlines()
                          if line.startswith("Status"))
            columns[guest.name] = len(status) - len(status[len("Status"):].lstrip())
        assert len(set(columns.values())) == 1, columns
