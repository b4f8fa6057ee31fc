"""A poll that changes nothing visible costs no layout and no paint; one that changes a
figure repaints only the widgets that show it, without a relayout (issue 12).

What Textual repaints is read where its screen does the work: `Screen._refresh_layout`
(a layout: every widget may move) and `Compositor.update_widgets` (the widgets whose
lines are rendered again). A Header refreshed after the polls is the sentinel: once its
paint is seen, every change the polls asked for has been painted too (one update pass
paints all dirty widgets together).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Header

from vmconsole.ui.widgets.metric_chart import MetricChart

DEADLINE = 10.0  # seconds, for a busy machine


@dataclass
class Paints:
    layouts: int = 0
    widgets: set[Widget] = field(default_factory=set)

    def clear(self) -> None:
        self.layouts = 0
        self.widgets.clear()


def count_paints(screen: Screen) -> Paints:
    paints = Paints()
    refresh_layout = screen._refresh_layout
    update_widgets = screen._compositor.update_widgets

    def counted_layout(*args, **kwargs):
        paints.layouts += 1
        return refresh_layout(*args, **kwargs)

    def counted_update(widgets):
        paints.widgets.update(widgets)
        return update_widgets(widgets)

    screen._refresh_layout = counted_layout  # type: ignore[method-assign]
    screen._compositor.update_widgets = counted_update  # type: ignore[method-assign]
    return paints


async def settle(app, pilot, paints: Paints) -> None:
    """Wait until everything asked for before now has been painted."""
    await pilot.pause()
    await pilot.pause()  # callbacks scheduled by the first pass (call_later)
    header = app.query_one(Header)
    seen_before = header in paints.widgets
    header.refresh()
    deadline = time.monotonic() + DEADLINE
    while header not in paints.widgets or seen_before:
        assert time.monotonic() < deadline, "the sentinel was never painted"
        seen_before = False
        await pilot.pause(0.01)
    paints.widgets.discard(header)


async def identical_polls(c, pilot, paints: Paints, polls: int = 5) -> None:
    await settle(c.app, pilot, paints)
    paints.clear()
    for _ in range(polls):
        c.poll()  # the clock does not move: every figure is what it was
        seq = c.loop.latest.seq
        deadline = time.monotonic() + DEADLINE
        while c.app.latest[c.loop.backend.name].seq != seq:
            assert time.monotonic() < deadline, "the poll never reached the console"
            await pilot.pause(0.01)
    await settle(c.app, pilot, paints)


async def test_identical_polls_cause_no_layout_and_no_paint(console_factory):
    c = console_factory(nodes=4, guests=60)
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        paints = count_paints(c.app.screen)
        for keys in ((), ("j",), ("j",)):  # the cluster, node pve1, its first guest
            await pilot.press(*keys)
            await identical_polls(c, pilot, paints)
            what = c.app.selected
            assert paints.layouts == 0, f"{what}: identical polls laid the screen out"
            assert not paints.widgets, (
                f"{what}: identical polls repainted {sorted(map(repr, paints.widgets))}")


async def test_a_changed_figure_repaints_only_its_widgets(console_factory):
    c = console_factory(nodes=4, guests=60)
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        paints = count_paints(c.app.screen)
        await pilot.press("j")  # node pve1: its figures move with the clock
        for _ in range(3):
            c.poll(advance=2.0)
        await settle(c.app, pilot, paints)
        paints.clear()
        c.poll(advance=2.0)
        await settle(c.app, pilot, paints)
        assert paints.layouts == 0, "a changed figure laid the whole screen out"
        charts = set(c.app.query(MetricChart))
        facts = c.app.query_one("#facts")
        assert facts in paints.widgets and charts <= paints.widgets
        allowed = {facts, *charts, c.app.query_one("#teach-status"),
                   c.app.query_one("#tasks")}
        assert paints.widgets <= allowed, (
            f"repainted beyond what changed: {sorted(map(repr, paints.widgets - allowed))}")


async def test_walking_from_guest_to_guest_keeps_the_graphs_in_place(console_factory):
    """Guests' facts differ by a line or two (HA, tags, a wrapped value). The pane keeps
    the most lines it has had since the selection's kind changed: a cursor key that
    goes back over guests already passed lays nothing out, and the graphs stay put."""
    c = console_factory(nodes=4, guests=60)
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        paints = count_paints(c.app.screen)
        await pilot.press("j", "j")  # pve1's first guest
        await settle(c.app, pilot, paints)
        cpu = c.app.query_one("#chart-cpu")
        lines: set[int] = set()
        tops: dict[str, list[int]] = {"j": [], "k": []}
        for key in ("j",) * 8 + ("k",) * 8:
            if key == "k" and not tops["k"]:
                paints.clear()  # the way back: every guest's facts have been shown
            await pilot.press(key)
            await settle(c.app, pilot, paints)
            assert c.app.selected is not None and c.app.selected.is_guest
            lines.add(c.app.query_one("#facts").render().plain.count("\n"))
            tops[key].append(cpu.region.y)
        assert len(lines) > 1, "the guests walked have facts of one height: no test"
        assert tops["j"] == sorted(tops["j"]), f"the CPU graph moved up: {tops['j']}"
        assert paints.layouts == 0, "walking back over guests laid the screen out"
        assert set(tops["k"]) == {tops["j"][-1]}, f"the CPU graph moved: {tops['k']}"


async def test_the_facts_keep_at_most_a_few_blank_lines(console_factory):
    """A guest whose facts are far longer (ten addresses) does not push the graphs of
    every guest after it down: past `_SLACK` blank lines, the facts shrink."""
    from textual.content import Content

    from vmconsole.ui.widgets.detail_pane import _SLACK, DetailPane

    c = console_factory(nodes=4, guests=60)
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.press("j", "j")  # a guest: no poll comes to show another
        await settle(c.app, pilot, count_paints(c.app.screen))
        pane = c.app.query_one(DetailPane)
        facts = pane.query_one("#facts")
        width = facts.content_region.width

        async def shown(lines: int) -> int:
            pane._set_facts(facts, "rows",  # a kind of its own: kept afresh
                            Content("\n".join(f"row {i}" for i in range(lines))), width)
            await pilot.pause()
            return facts.region.height

        assert await shown(12) == 12
        assert await shown(12 + _SLACK) == 12 + _SLACK
        assert await shown(12) == 12 + _SLACK  # kept: the graphs stay
        assert await shown(30) == 30
        assert await shown(12) == 12  # far shorter: shrunk
