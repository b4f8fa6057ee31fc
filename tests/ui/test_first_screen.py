"""The first screen builds only what it shows (issue 12): the ping panel's address box,
list and chart and the tree's filter box are made when first asked for, and then work
as if they had always been there."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Input, RichLog, Static

from tests.ui_ops.helpers import settled, wait_until
from vmconsole.backends.abilities import FaultKind
from vmconsole.backends.sim import open_sim
from vmconsole.config import SimCluster
from vmconsole.model import Inventory
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef
from vmconsole.ui.widgets.detail_pane import DetailPane
from vmconsole.ui.widgets.key_footer import KeyFooter
from vmconsole.ui.widgets.metric_chart import MetricChart
from vmconsole.ui.widgets.ping_panel import PingPanel


async def test_hidden_panels_are_made_when_first_shown(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        app = c.app
        assert not app.query("#filter") and not app.query("#ping-address")
        assert not app.query(PingPanel)

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


def pane_with_focus(app) -> str | None:
    focused = app.focused
    return None if focused is None else next(
        (w.id for w in focused.ancestors_with_self if w.id in ("left", "detail", "teaching")),
        None)


async def test_the_event_log_is_made_with_its_first_line(console_factory):
    """The demo's empty event log is not built for the first screen (RichLog imports
    rich.pretty and attrs); its empty row stands in, Tab still visits it, and the first
    narrated event makes the log, which keeps the focus and shows the line."""
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        app = c.app
        panel = app.query_one("#teaching")
        assert not app.query("#teach-log")
        assert panel.outer_size.height == 3  # its title, the status line, one empty row
        for _ in range(3):
            await pilot.press("tab")
            if pane_with_focus(app) == "teaching":
                break
        assert pane_with_focus(app) == "teaching"

        c.backend.inject_fault("pve2", FaultKind.POWER_OFF)
        c.poll(advance=5.0)
        await pilot.pause()
        log = app.query_one("#teach-log", RichLog)
        await wait_until(pilot, lambda: log.lines, 10.0, "the first line in the log")
        text = "\n".join("".join(seg.text for seg in line) for line in log.lines)
        assert "pve2" in text and "lost" in text
        assert not app.query("#teach-empty")
        assert app.focused is log


async def test_the_charts_are_made_when_a_guest_is_first_shown(console_factory):
    """The first screen shows the cluster, which has no charts: they are made with the
    first node or guest shown, and then come and go as before."""
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        for _ in range(3):
            c.poll(advance=5.0)
            await pilot.pause()
        app = c.app
        assert not app.query(MetricChart)
        await pilot.press("j", "j")  # pve1, then its first guest
        await pilot.pause()
        charts = list(app.query(MetricChart))
        assert [chart.id for chart in charts] == ["chart-cpu", "chart-mem", "chart-net"]
        for chart in charts:
            await settled(pilot, chart)
            assert chart.display and chart.region.height
        assert "collecting" not in str(charts[0].render())  # three polls: a line
        await pilot.press("k", "k")  # the cluster again
        await pilot.pause()
        assert not any(chart.display for chart in app.query(MetricChart))


def footer_text(app) -> str:
    return " ".join(f"{key.key_display} {key.description}"  # Textual's FooterKeys
                    for key in app.query_one(KeyFooter).children)


async def test_the_footer_is_rebuilt_only_when_its_keys_change(console_factory):
    """Textual rebuilds the footer at every focus or binding change; ours keeps its keys
    when they would be the same, and shows a remapped key or a new pane's keys."""
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        app = c.app
        before = list(app.query_one(KeyFooter).children)
        assert "Quit" in footer_text(app) and "?" in footer_text(app)
        app.screen.refresh_bindings()  # what a focus change without new keys does
        await pilot.pause()
        assert list(app.query_one(KeyFooter).children) == before

        app.set_keymap({"app.help": "f1"})
        await wait_until(pilot, lambda: "f1 Help" in footer_text(app), 5.0,
                         "the remapped key in the footer")
        assert "? Help" not in footer_text(app)


async def test_footer_keys_follow_the_footer_s_compact_setting(console_factory):
    """The footer's keys are born wide, as the footer is (not compact, then widened once
    mounted), and still follow the footer when it turns compact; the palette's key,
    which Textual does not bind to the footer, stays compact as Textual draws it."""
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        footer = c.app.query_one(KeyFooter)
        keys = [k for k in footer.children if not k.has_class("-command-palette")]
        palette = [k for k in footer.children if k.has_class("-command-palette")]
        assert len(keys) >= 4 and len(palette) == 1
        assert not any(key.compact or key.has_class("-compact") for key in keys)
        assert palette[0].has_class("-compact")
        wide = keys[0].region.width
        assert wide == len(f" {keys[0].key_display} {keys[0].description} ")

        footer.compact = True
        await wait_until(pilot, lambda: all(k.has_class("-compact") for k in keys), 5.0,
                         "compact keys")
        await pilot.pause()
        assert keys[0].region.width < wide


class _PaneApp(App[None]):
    """A detail pane alone, shown a cluster before its first layout (as the console's
    first poll does) and told of it again by its first Resize."""

    def __init__(self, inventory: Inventory) -> None:
        super().__init__()
        self.inventory = inventory
        self.before_layout = ""

    def compose(self) -> ComposeResult:
        yield DetailPane()

    def on_mount(self) -> None:
        pane = self.query_one(DetailPane)
        assert not pane.size.width  # not laid out yet
        pane.show(TreeRef(self.inventory.cluster), self.inventory, None, [])
        self.before_layout = str(pane.query_one("#facts", Static).render())


async def test_the_facts_shown_before_the_first_layout_are_not_wrapped_narrow():
    """The first frame showed the facts wrapped at 10 cells (the pane had no width yet)
    and the pane's first Resize wrapped them again, laying the screen out a second
    time. Now they wait unwrapped, and wrap to the pane's width once it has one."""
    name = "a-cluster-whose-name-is-long"
    inventory = open_sim(SimCluster(name=name, nodes=3, guests=0, seed=1)).inventory()
    app = _PaneApp(inventory)
    async with app.run_test(size=(44, 20)) as pilot:
        await pilot.pause()
        first = app.before_layout.splitlines()
        assert any(line.startswith("Cluster") and line.endswith(name) for line in first)
        assert any(line.endswith("quorate, 3 of 3 votes") for line in first)
        pane = app.query_one(DetailPane)
        shown = str(pane.query_one("#facts", Static).render()).splitlines()
        assert len(shown) > len(first)  # the name wraps in a 44-column screen
        assert max(len(line) for line in shown) <= pane.query_one("#facts").size.width
