"""The detail pane: what the selected cluster, container (a vSphere datacenter or
cluster), node or guest is doing, with graphs."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from vmconsole.backends.base import MetricSample
from vmconsole.model import (
    Container,
    Guest,
    GuestAddress,
    Inventory,
    Node,
    NodeStatus,
    Storage,
    total_metrics,
)
from vmconsole.text import visible, visible_lines
from vmconsole.ui import formatting as fmt
from vmconsole.ui import ha_text, vsphere_text
from vmconsole.ui.ft_text import ft_rows
from vmconsole.ui.labels import node_state
from vmconsole.ui.storage_text import storage_facts
from vmconsole.ui.styles import LabelStyles, theme_color
from vmconsole.ui.symbols import UNICODE, Symbols
from vmconsole.ui.widgets.cluster_tree import TreeRef
from vmconsole.ui.widgets.metric_chart import MetricChart

if TYPE_CHECKING:  # the charts' plotting is loaded when a node or guest is first shown
    from vmconsole.ui.plot import Series


#: The room of a value shown before the pane has a width (textwrap wants a number).
_UNWRAPPED = 10_000


def _table(rows: list[tuple[str, str | Text]], width: int | None) -> Content:
    """Two aligned columns as one Content, values wrapped under themselves to fit
    `width` cells (None: not wrapped). A Rich Table looked the same but cost ~13 ms to
    measure and draw on every poll, in every console of a served class. Values are
    data: every hidden character is made visible here (names are cut where the rows
    are made, `visible()` being idempotent)."""
    rows = [(visible(key, limit=None), value) for key, value in rows]
    key_width = max((len(key) for key, _ in rows), default=0) + 2
    room = max(10, width - key_width) if width is not None else _UNWRAPPED
    lines: list[Text] = []
    for key, value in rows:
        style = value.style if isinstance(value, Text) else ""
        pieces = textwrap.wrap(visible(str(value), limit=None), room) or [""]
        lines.append(Text.assemble((key.ljust(key_width), "bold"), (pieces[0], style)))
        lines += [Text.assemble(" " * key_width, (piece, style)) for piece in pieces[1:]]
    return Content.from_rich_text(Text("\n").join(lines))


def _reported(obj: Guest | Node, text: str, *names: str) -> str:
    """`text`, or "not reported" when the source does not report one of these figures."""
    return "not reported" if any(n in obj.unreported for n in names) else text


def _uptime(guest: Guest) -> str:
    """The running guest's uptime, or why it is not reported (the backend's note)."""
    if not guest.running:
        return "-"
    if "uptime" in guest.unreported:
        return "not reported" + (f": {guest.uptime_note}" if guest.uptime_note else "")
    # 0 and not unreported: the guest has just started, or the backend keeps none
    return fmt.duration(guest.uptime) if guest.uptime else "-"


def _inactive(guest: Guest, inventory: Inventory) -> str:
    """Which of the guest's storages its node cannot use now, if any."""
    down = [s.name for s in inventory.storages_for(guest.node)
            if s.name in guest.storages and not s.active]
    return f" ({', '.join(map(visible, down))} inactive on {visible(guest.node)})" if down else ""


def storage_down_rows(node: Node, inventory: Inventory) -> list[tuple[str, str | Text]]:
    """The storages an online node has but cannot use, with the backend's reason (an
    offline node's are all out of reach: its state says so)."""
    if not node.online:
        return []
    return [(f"Storage {visible(s.name)}",
             Text(f"{visible(s.type)}{', shared' if s.shared else ''}: inactive"
                  + (f": {visible_lines(s.error)}" if s.error else ""), style="bold"))
            for s in inventory.storages if s.node == node.name and not s.active]


def ha_rows(guest: Guest, inventory: Inventory, sym: Symbols, styles: LabelStyles
            ) -> list[tuple[str, str | Text]]:
    """The HA state as the manager says it, what it means, and what was requested; for
    a VM in a vSphere cluster, vSphere HA's protection, restart priority and the
    cluster's HA and DRS."""
    ha = guest.ha
    cluster = inventory.container_of(guest.node)
    if cluster is not None and cluster.vsphere is not None:
        return list(vsphere_text.vm_rows(guest, cluster))
    if ha is None:
        return [("HA", "-")]
    return [
        ("HA", ha_text.explained(ha.state, ha_text.service_info(ha.state), sym, styles)),
        ("HA request", visible(ha.request) + (f", group {visible(ha.group)}" if ha.group else "")
         + (f", nodes {','.join(map(visible, ha.nodes))}" if ha.nodes else "")
         + f", max_restart {ha.max_restart}, max_relocate {ha.max_relocate}"),
    ]


def duplicate_rows(guest: Guest, inventory: Inventory, styles: LabelStyles
                   ) -> list[tuple[str, str | Text]]:
    """Why this row is one of several copies of one guest, and where the others are."""
    dup = guest.duplicate
    if dup is None:
        return []
    where = []
    for copy_id, node in zip(dup.copies, dup.nodes, strict=True):
        other = inventory.guest(copy_id)
        where.append(f"{visible(node)} ({other.status if other else 'gone'} there)")
    return [("Duplicate", Text(f"the same {dup.shared} {visible(dup.value)} is also "
                               f"defined on {', '.join(where)}; {dup.advice}",
                               style=styles.bad))]


MAX_ADDRESS_ROWS = 8


def address_rows(guest: Guest) -> list[tuple[str, str | Text]]:
    """Each address once, with its prefix, interface and every source that reported it
    ("10.0.0.5/24 eth0 (guest agent, static config)"), or why there is none."""
    if not guest.addresses:
        return [("Addresses", Text(f"none: {visible(guest.address_note or 'none reported')}",
                                   style="dim"))]
    by_ip: dict[str, list[GuestAddress]] = {}
    for address in guest.addresses:
        by_ip.setdefault(address.ip, []).append(address)
    rows: list[tuple[str, str | Text]] = []
    for ip, found in list(by_ip.items())[:MAX_ADDRESS_ROWS]:
        first = found[0]
        prefix = f"/{first.prefix}" if first.prefix is not None else ""
        where = next((f" {visible(a.interface)}" for a in found if a.interface), "")
        sources = ", ".join(dict.fromkeys(str(a.source) for a in found))
        rows.append(("Addresses" if not rows else "",
                     Text(f"{visible(ip)}{prefix}{where} ({sources})")))
    if len(by_ip) > MAX_ADDRESS_ROWS:
        rows.append(("", Text(f"… {len(by_ip) - MAX_ADDRESS_ROWS} more (i lists them all)",
                              style="dim")))
    return rows


def guest_rows(guest: Guest, inventory: Inventory, sym: Symbols, styles: LabelStyles
               ) -> list[tuple[str, str | Text]]:
    m = guest.metrics
    kind = ("VM" if guest.kind == "qemu" else "container") + (" template" if guest.template else "")
    rows: list[tuple[str, str | Text]] = [
        ("Name", Text(visible(guest.name))),
        ("Type", kind + (f" {guest.vmid}" if guest.vmid is not None else "")),
        ("Status", str(guest.status)
                   + (f" ({visible(guest.status_reason)})" if guest.status_reason else "")
                   + (f", lock: {visible(guest.lock)}" if guest.lock else "")),
        ("Node", visible(guest.node)),
        ("Uptime", _uptime(guest)),
        ("vCPUs", f"{guest.maxcpu}  ({_reported(guest, fmt.percent(m.cpu), 'cpu')} used)"),
        ("Memory", f"{_reported(guest, fmt.size(m.mem), 'mem')} of {fmt.size(guest.maxmem)}"),
        ("Disk", f"{fmt.size(guest.disk)} of {fmt.size(guest.maxdisk)}"
                 + (f" on {', '.join(map(visible, guest.storages))}" if guest.storages else "")
                 + _inactive(guest, inventory)),
        ("Disk I/O", _reported(guest, f"read {fmt.rate(m.disk_read)}, write "
                               f"{fmt.rate(m.disk_write)}", "disk_read", "disk_write")),
        ("Network", _reported(guest, f"in {fmt.rate(m.net_in)}, out {fmt.rate(m.net_out)}",
                              "net_in", "net_out")),
        *address_rows(guest),
        *ha_rows(guest, inventory, sym, styles),
        *ft_rows(guest),
    ]
    if guest.tags:
        rows.append(("Tags", Text(", ".join(map(visible, guest.tags)))))
    return duplicate_rows(guest, inventory, styles) + rows


@dataclass(frozen=True, slots=True)
class Reach:
    """How the console reaches a cluster: its address and, while its polls fail, the
    backend's error, since when and the next try (epoch seconds)."""

    address: str
    error: str | None = None
    since: float | None = None
    next_try: float | None = None


def unreachable_rows(address: str | None, error: str | None, since: float | None,
                     next_try: float | None, now: float) -> list[tuple[str, str | Text]]:
    """Where a node or cluster is, the backend's own last error (literal), since when
    and when the console tries again; `next_try` None: an attempt is under way."""
    rows: list[tuple[str, str | Text]] = []
    if address:
        rows.append(("Address", Text(visible(address, None))))
    if error:
        rows.append(("Error", Text(visible_lines(error), style="bold")))
    if since is not None:
        rows.append(("Since", fmt.moment(since, now)))
    if next_try is None:
        rows.append(("Next try", "when the attempt under way ends"))
    else:  # a try due now is made by the next poll
        rows.append(("Next try", fmt.moment(next_try, now) if next_try > now
                     else "at the next poll"))
    return rows


def node_rows(node: Node, inventory: Inventory, sym: Symbols, styles: LabelStyles
              ) -> list[tuple[str, str | Text]]:
    guests = [g for g in inventory.guests_on(node.name) if not g.template]
    running = sum(g.running for g in guests)
    m = node.metrics
    ha: list[tuple[str, str | Text]] = [] if node.ha_state is None else [
        ("HA", ha_text.explained(node.ha_state, ha_text.node_info(node.ha_state), sym,
                                 styles))]
    reach: list[tuple[str, str | Text]] = []
    if node.status is NodeStatus.CONNECTING:
        reach = [("Address", Text(visible(node.address or "-", None))),
                 ("Connecting", "since " + fmt.moment(node.since or inventory.taken_at,
                                                      inventory.taken_at))]
    elif not node.online and node.error:  # the console cannot reach it, and says why
        reach = unreachable_rows(node.address, node.error, node.since, node.next_try,
                                 inventory.taken_at)
    # Figures of a host the console cannot read are not known, not zero.
    figures: list[tuple[str, str | Text]] = [] if reach else [
        ("Uptime", _reported(node, fmt.duration(node.uptime), "uptime") if node.online else "-"),
        ("CPU", f"{_reported(node, fmt.percent(m.cpu), 'cpu')} of {node.maxcpu} cores"),
        ("Load", _reported(node, " ".join(f"{x:.2f}" for x in node.loadavg), "loadavg")),
        ("Memory", f"{_reported(node, fmt.size(m.mem), 'mem')} of {fmt.size(node.maxmem)}"),
        ("Network", _reported(node, f"in {fmt.rate(m.net_in)}, out {fmt.rate(m.net_out)}",
                              "net_in", "net_out")),
    ]
    return [
        ("Node", Text(visible(node.name))),
        ("Status", node_state(node)),
        *ha,
        *reach,
        *figures,
        *storage_down_rows(node, inventory),
        ("Guests", f"{running} running of {len(guests)}"),
        ("", Text(", ".join(visible(g.name) for g in guests[:40])
                  + (" …" if len(guests) > 40 else ""), style="dim")),
    ]


# Node-local storages the cluster's pane lists one by one; beyond them, one summary row
# (each has its own row in the tree): at 100 nodes, 200 rows re-rendered on every poll
# cost the idle console more than everything else together.
LOCAL_STORAGE_ROWS = 8


def storage_rows(inventory: Inventory) -> list[tuple[str, str | Text]]:
    """One row per storage; a shared one that each node lists apart (a libvirt pool of
    one name on every host) is one row naming its nodes and where it is unavailable.
    Past LOCAL_STORAGE_ROWS node-local storages, the rest are one row with their sum
    (the unavailable ones among them named)."""
    groups: dict[tuple[str, bool], list[Storage]] = {}
    for s in inventory.storages:
        groups.setdefault((s.name, s.shared) if s.shared else (s.id, False), []).append(s)
    rows: list[tuple[str, str | Text]] = []
    local = [g[0] for g in groups.values() if not g[0].shared]
    listed = {s.id for s in local[:LOCAL_STORAGE_ROWS]} if len(local) > LOCAL_STORAGE_ROWS \
        else {s.id for s in local}
    for group in groups.values():
        s = group[0]
        if not s.shared and s.id not in listed:
            continue
        nodes = [g.node for g in group if g.node]
        where = (f"shared by {', '.join(map(visible, nodes))}" if s.shared and len(group) > 1
                 else "shared" if s.shared else f"on {visible(s.node or '')}")
        down = [visible(g.node or "") for g in group if not g.active]
        state = "" if not down else ", UNAVAILABLE" + (
            f" on {', '.join(down)}" if len(group) > 1 else "")
        rows.append((f"Storage {visible(s.name)}", f"{visible(s.type)} {where}{state}: "
                     f"{fmt.size(s.used)} of {fmt.size(s.total)}"))
    rest = [s for s in local if s.id not in listed]
    if rest:
        down = [f"{visible(s.name)} on {visible(s.node or '')}" for s in rest if not s.active]
        rows.append(("Storage, more", f"{len(rest)} local to their nodes (each under its "
                     f"node in the tree): {fmt.size(sum(s.used for s in rest))} of "
                     f"{fmt.size(sum(s.total for s in rest))}"
                     + (f"; UNAVAILABLE: {', '.join(down[:5])}" + (" ..." if len(down) > 5
                                                                   else "") if down else "")))
    return rows


def _capacity_rows(nodes: Sequence[Node], guests: Sequence[Guest]
                   ) -> list[tuple[str, str | Text]]:
    """Nodes online, guests running, CPU and memory used, over these nodes and guests."""
    vms = [g for g in guests if not g.template]
    online = [n for n in nodes if n.online]
    used = total_metrics(n.metrics for n in online)
    cores = sum(n.maxcpu for n in online)
    cpu_used = sum(n.metrics.cpu * n.maxcpu for n in online)
    return [
        ("Nodes", f"{len(online)} online of {len(nodes)}"),
        ("Guests", f"{sum(g.running for g in vms)} running of {len(vms)}"
                   f", {sum(g.template for g in guests)} templates"),
        ("CPU", f"{cpu_used:.1f} of {cores} cores"
                + (f" ({fmt.percent(cpu_used / cores)})" if cores else "")),
        ("Memory", f"{fmt.size(used.mem)} of {fmt.size(sum(n.maxmem for n in online))}"),
    ]


def container_rows(container: Container, inventory: Inventory
                   ) -> list[tuple[str, str | Text]]:
    """A datacenter or vSphere cluster: what it holds, and a vSphere cluster's HA and
    DRS settings as vCenter reports them (changed in the vSphere Client, not here)."""
    nodes = inventory.nodes_under(container.id)
    names = {n.name for n in nodes}
    around = inventory.container(container.parent)
    rows: list[tuple[str, str | Text]] = [
        ("Name", Text(visible(container.name))),
        ("Type", container.kind),
        *([("In", Text(f"{visible(around.name)} ({around.kind})"))] if around else []),
        *_capacity_rows(nodes, [g for g in inventory.guests if g.node in names]),
    ]
    config = container.vsphere
    if config is not None:
        rows += [("vSphere HA", vsphere_text.ha_setting(config)),
                 ("DRS", vsphere_text.drs_setting(config)),
                 ("Recommendations", Text(vsphere_text.recommendations(config)))]
    return rows


def cluster_rows(name: str, inventory: Inventory, reach: Reach | None
                 ) -> list[tuple[str, str | Text]]:
    """The cluster's facts; `reach` is how its polls go."""
    q = inventory.quorum
    rows: list[tuple[str, str | Text]] = [
        ("Cluster", Text(visible(name))),
        ("Quorum", "-" if q is None else
         f"{'quorate' if q.quorate else 'NOT quorate'}, {q.votes} of {q.expected} votes"),
        *_capacity_rows(inventory.nodes, inventory.guests),
    ]
    rows += storage_rows(inventory)
    rows += [(f"{c.kind} {visible(c.name)}", Text(vsphere_text.cluster_summary(
        c.vsphere, len(inventory.nodes_under(c.id))))) for c in inventory.containers
        if c.vsphere is not None]
    for node in inventory.nodes:
        if node.error and not node.online:
            rows.append((f"Node {visible(node.name)}",
                         Text(f"{node_state(node)}: {visible_lines(node.error)}",
                              style="bold")))
    if reach is not None and reach.error:
        rows[1:1] = [("Unreachable", "the last poll failed; the figures are from the last "
                                     "one that answered"),
                     *unreachable_rows(reach.address, reach.error, reach.since,
                                       reach.next_try, time.time())]
    return rows


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
        arrow = "v" if self.ascii else "↓"
        title = f"detail {arrow} more below (Tab here, then {arrow})" if more else "detail"
        if title != self.border_title:  # Textual repaints the pane on every assignment
            self.border_title = title

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
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
        if ref is not None and inventory is None and reach is not None and reach.error:
            shown = _table([("Cluster", Text(visible(ref.cluster))),
                            ("Unreachable", "no poll has succeeded yet"),
                            *unreachable_rows(reach.address, reach.error, reach.since,
                                              reach.next_try, time.time())], width)
        elif ref is None or inventory is None:
            shown = _note("waiting for the first poll…")
        elif ref.is_cluster:
            shown = _table(cluster_rows(ref.cluster, inventory, reach), width)
        elif (container := inventory.container(ref.object_id)) is not None:
            shown = _table(container_rows(container, inventory), width)
        elif ref.is_storage and (storage := next(
                (s for s in inventory.storages if s.id == ref.object_id), None)):
            shown = _table(storage_facts(storage, inventory), width)
        elif isinstance(obj, Guest):
            shown = _table(guest_rows(obj, inventory, self._symbols, self._styles()), width)
        elif isinstance(obj, Node):
            shown = _table(node_rows(obj, inventory, self._symbols, self._styles()), width)
        else:
            shown = _note("gone: it is no longer in the cluster")
        self._set_facts(facts, shown)
        show_charts = isinstance(obj, Node) or (isinstance(obj, Guest) and not obj.template)
        for chart in self._charts_made() if show_charts else self._charts:
            chart.display = show_charts
        self.call_after_refresh(self._say_more)
        if show_charts:
            self._draw(samples, obj.unreported if isinstance(obj, Guest | Node) else (),
                       settle=moved)

    _facts: tuple[str, tuple[object, ...]] | None = None  # what #facts shows: text, spans

    def _set_facts(self, facts: Static, shown: Content) -> None:
        """Show `shown` in #facts unless it is there already: a poll that changes no
        figure of the selection must cost no paint (each console of a served class
        would pay it every second). The screen is laid out again only when the
        facts' height changes; a figure that changes repaints #facts alone."""
        key = (shown.plain, tuple(shown.spans))
        if key == self._facts:
            return
        height_changed = self._facts is None or (
            self._facts[0].count("\n") != shown.plain.count("\n"))
        self._facts = key
        facts.update(shown, layout=height_changed)

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
