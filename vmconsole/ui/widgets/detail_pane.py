"""The detail pane: what the selected cluster, container (a vSphere datacenter or
cluster), node or guest is doing, with graphs."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from vmconsole.backends.base import MetricSample
from vmconsole.model import Guest, Inventory, Node
from vmconsole.text import visible
from vmconsole.ui.cluster_summary import (
    Reach,
    cluster_rows,
    container_rows,
    node_rows,
    unreachable_rows,
)
from vmconsole.ui.guest_summary import guest_rows
from vmconsole.ui.storage_text import storage_facts
from vmconsole.ui.styles import LabelStyles, theme_color
from vmconsole.ui.symbols import UNICODE, Symbols
from vmconsole.ui.widgets.cluster_tree import TreeRef
from vmconsole.ui.widgets.metric_chart import MetricChart

if TYPE_CHECKING:  # the charts' plotting is loaded when a node or guest is first shown
    from vmconsole.ui.plot import Series


#: The room of a value shown before the pane has a width (the wrap wants a number).
_UNWRAPPED = 10_000
#: The key column's least width, in cells, however narrow the pane: "Storage local-lvm".
_KEY_MIN = 18
#: The key column's least width for a guest, in cells: the guest keys' usual widest. Keys
#: vary from guest to guest ("HA request" only under HA), and a column as wide as each
#: one's longest moved every value a cell while walking the tree.
_GUEST_KEYS = cell_len("HA request")
#: The value column's least width, in cells: below it the pane stacks each key over its value.
_VALUE_MIN = 12
#: The most blank lines the facts keep under a shorter selection of the same kind (the
#: usual difference between two guests is one or two): a guest with ten addresses
#: does not push the graphs of every guest after it off an 80x24 screen.
_SLACK = 3


def _wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` cells, broken between words where it can: a
    wide character (CJK) takes two cells and a combining one none, which
    `textwrap`, counting characters, put past the pane's edge."""
    if "\n" not in text and cell_len(text) <= width:
        return [text]  # most values fit: no Content made and wrapped (a cursor key's show)
    return [line.plain for line in Content(text).wrap(width)] or [""]


def _table(rows: list[tuple[str, str | Text]], width: int | None, least: int = 0) -> Content:
    """Two aligned columns as one Content, values wrapped under themselves to fit
    `width` cells (None: not wrapped); the key column is at least `least` cells (and
    its gap) where that leaves the values _VALUE_MIN, the same for every selection of a
    kind. A Rich Table looked the same but cost ~13 ms to measure and draw on every
    poll, in every console of a served class. Values are
    data: every hidden character is made visible here (names are cut where the rows
    are made, `visible()` being idempotent)."""
    rows = [(visible(key, limit=None), value) for key, value in rows]
    longest = max((cell_len(key) for key, _ in rows), default=0)
    # A key as long as a name ("Node " and a host's 60-character name) would leave its
    # neighbours' values a few cells each: the column stops at a third of the pane, and
    # such a key takes lines of its own above its value.
    key_width = (min(longest, max(_KEY_MIN, width // 3)) if width is not None else longest) + 2
    if width is not None and width - key_width < _VALUE_MIN:
        key_width = 2  # too narrow for two columns (a 50-column terminal): each value under its key
    elif width is None or width - (least + 2) >= _VALUE_MIN:
        key_width = max(key_width, least + 2)
    room = max(1, width - key_width) if width is not None else _UNWRAPPED
    lines: list[Text] = []
    for key, value in rows:
        style = value.style if isinstance(value, Text) else ""
        pieces = _wrap(visible(str(value), limit=None), room)
        if cell_len(key) + 2 > key_width:
            lines += [Text(part, "bold") for part in _wrap(key, max(1, width or 0))]
            lines += [Text.assemble(" " * key_width, (piece, style)) for piece in pieces]
            continue
        padding = " " * (key_width - cell_len(key))
        lines.append(Text.assemble((key + padding, "bold"), (pieces[0], style)))
        lines += [Text.assemble(" " * key_width, (piece, style)) for piece in pieces[1:]]
    return Content.from_rich_text(Text("\n").join(lines))


def _note(text: str) -> Content:
    """A line in place of the facts: why there are none."""
    return Content.from_rich_text(Text(text, style="italic"))


class DetailPane(VerticalScroll):
    """Shows the selection: a table of facts and, for nodes and guests, graphs."""

    DEFAULT_CSS = """
    DetailPane { padding: 0 1; scrollbar-gutter: stable; }
    DetailPane #facts { margin-bottom: 1; }
    DetailPane .charts { height: auto; }
    """

    def __init__(self, symbols: Symbols = UNICODE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._symbols = symbols
        self.ascii = symbols.ascii  # charts in ASCII for terminals without Unicode
        self.border_title = "detail"

    def _say_more(self) -> None:
        """The title says when there is more below (the graphs, on a short screen), and
        how to get there: the pane scrolls on purpose, not by accident."""
        more = self.max_scroll_y - self.scroll_y >= 1
        key = self._symbols.down_key
        # The arrow points at what is below; the key's ASCII name does not point.
        said = "detail: more below" if self.ascii else f"detail {key} more below"
        # The screen's focus, set before Focus and Blur reach the pane (`has_focus` after)
        how = "" if self.screen.focused is self else f" (Tab here, then {key})"
        title = f"{said}{how}" if more else "detail"
        if title != self.border_title:  # Textual repaints the pane on every assignment
            self.border_title = title

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._say_more()

    def on_focus(self) -> None:
        self._say_more()  # "Tab here" no longer applies

    def on_blur(self) -> None:
        self._say_more()

    def compose(self) -> ComposeResult:
        # Kept, not queried on each show: a query matches CSS against every widget.
        self._facts_view = Static(id="facts")
        # Its text is data, never links: no pass over each segment's meta for them.
        self._facts_view.auto_links = False
        yield self._facts_view

    # The charts are made when a node or guest is first shown (`_charts_made`): the
    # first screen shows the cluster, which has none.
    _charts: tuple[MetricChart, ...] = ()

    def _charts_made(self) -> tuple[MetricChart, ...]:
        if not self._charts:
            self._charts = (
                MetricChart("CPU", "%", ascii=self.ascii, id="chart-cpu"),
                MetricChart("Memory", "GiB", ascii=self.ascii, id="chart-mem"),
                MetricChart("Network", "KiB/s", ascii=self.ascii, id="chart-net"))
            self.mount_all(self._charts)
        return self._charts

    _shown: tuple[TreeRef | None, Inventory | None, Reach | None, list[MetricSample]] = (
        None, None, None, [])

    def _styles(self) -> LabelStyles:
        return LabelStyles.from_variables(self.app.theme_variables)

    def on_resize(self) -> None:
        self.show(*self._shown)  # values wrap to the pane's width
        self.call_after_refresh(self._say_more)

    def show(self, ref: TreeRef | None, inventory: Inventory | None, reach: Reach | None,
             samples: list[MetricSample]) -> None:
        """Show `ref` from `inventory`; `reach` is how its cluster's polls go."""
        moved = ref != self._shown[0]
        self._shown = (ref, inventory, reach, samples)
        facts = self._facts_view
        # Before the first layout the pane has no width: values wait unwrapped (they
        # were wrapped at 10 cells on the first frame), and the pane's first Resize
        # wraps them to its width. Where no value is too long for it, that changes
        # nothing: no repaint, and no second layout of the screen.
        width = (facts.content_region.width or self.scrollable_content_region.width - 2
                 or None) if self.size.width else None
        obj = None if inventory is None or ref is None else inventory.objects().get(ref.object_id)
        self._set_facts(facts, *self._facts_of(ref, inventory, reach, obj, width), width)
        if moved and self.scroll_y:  # a new selection from its name, not the last one's graphs
            self.scroll_home(animate=False)
        show_charts = isinstance(obj, Node) or (isinstance(obj, Guest) and not obj.template)
        for chart in self._charts_made() if show_charts else self._charts:
            chart.display = show_charts
        self.call_after_refresh(self._say_more)
        if show_charts:
            self._draw(samples, obj.unreported if isinstance(obj, Guest | Node) else (),
                       settle=moved)

    def _facts_of(self, ref: TreeRef | None, inventory: Inventory | None, reach: Reach | None,
                  obj: object, width: int | None) -> tuple[str, Content]:
        """(the kind of selection, its facts wrapped to `width` cells): "guest", "node",
        "cluster", "container", "storage", or why there are none."""
        if ref is not None and inventory is None and reach is not None and reach.error:
            return "unreachable", _table([
                ("Cluster", Text(visible(ref.cluster))),
                ("Unreachable", "no poll has succeeded yet"),
                *unreachable_rows(reach.address, reach.error, reach.since, reach.next_try,
                                  time.time())], width)
        if ref is None or inventory is None:
            return "waiting", _note("waiting for the first poll…")
        if ref.is_cluster:
            return "cluster", _table(cluster_rows(ref.cluster, inventory, reach), width)
        if (container := inventory.container(ref.object_id)) is not None:
            return "container", _table(container_rows(container, inventory), width)
        if ref.is_storage and (storage := inventory.storage(ref.object_id)):
            return "storage", _table(storage_facts(storage, inventory), width)
        if isinstance(obj, Guest):
            return "guest", _table(guest_rows(obj, inventory, self._symbols, self._styles()),
                                   width, _GUEST_KEYS)
        if isinstance(obj, Node):
            return "node", _table(node_rows(obj, inventory, self._symbols, self._styles()),
                                  width)
        return "gone", _note("gone: it is no longer in the cluster")

    _facts: tuple[str, tuple[object, ...]] | None = None  # what #facts shows: text, spans
    #: The lines #facts keeps (its least height), and the kind of selection and the
    #: width they are kept for.
    _room: tuple[str, int | None, int] = ("", None, 0)

    def _set_facts(self, facts: Static, kind: str, shown: Content, width: int | None) -> None:
        """Show `shown` in #facts unless it is there already: a poll that changes no
        figure of the selection must cost no paint (each console of a served class
        would pay it every second).

        #facts keeps the most lines it has had since the selection's kind ("guest",
        "node", ...) or the pane's width last changed, up to _SLACK more than it needs:
        walking the tree from guest to guest, whose facts differ by a line or two (HA,
        tags, a wrapped value), leaves the graphs where they are, and costs a repaint of
        #facts, not a layout of the screen (twice, the second for the sizes the first
        changed), where a cursor key walking 10,000 guests spent about 30 % of its time
        (issue 12)."""
        key = (shown.plain, tuple(shown.spans))
        if key == self._facts:
            return
        lines = shown.plain.count("\n") + 1
        was_kind, was_width, room = self._room
        same = (kind, width) == (was_kind, was_width) and room - lines <= _SLACK
        kept = max(room, lines) if same else lines
        self._room = (kind, width, kept)
        self._facts = key
        if kept != room:
            facts.styles.min_height = kept
        facts.update(shown, layout=kept != room)

    def _draw(self, samples: list[MetricSample], unreported: tuple[str, ...],
              settle: bool = False) -> None:
        """The charts of `samples`; a figure in `unreported` (`Guest.unreported`) is
        left out, not drawn as a line at zero. `settle`: see MetricChart.show."""
        from vmconsole.ui.plot import Series

        v = self.app.theme_variables

        def color(name: str) -> str:
            return theme_color(v, name, "white")

        def series(name: str, metric: str, values: list[float], colour: str) -> list[Series]:
            return [] if metric in unreported else [Series(name, values, color(colour))]

        times = [s.time for s in samples]
        cpu, mem, net = self._charts
        cpu.show(times, series("cpu", "cpu", [s.cpu * 100 for s in samples], "success"),
                 (0, 100), settle)
        top = max((s.maxmem for s in samples), default=0) / 2**30
        mem.show(times, series("used", "mem", [s.mem / 2**30 for s in samples], "accent"),
                 (0, top or 1), settle)
        net.show(times, [
            *series("in", "net_in", [s.net_in / 1024 for s in samples], "primary"),
            *series("out", "net_out", [s.net_out / 1024 for s in samples], "warning"),
        ], None, settle)
