"""The detail pane: what the selected cluster, node or guest is doing, with graphs."""

from __future__ import annotations

import textwrap

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from vmconsole.backends.base import MetricSample
from vmconsole.model import Guest, Inventory, Node, total_metrics
from vmconsole.ui import formatting as fmt
from vmconsole.ui.labels import theme_color
from vmconsole.ui.plot import Series
from vmconsole.ui.widgets.cluster_tree import TreeRef
from vmconsole.ui.widgets.metric_chart import MetricChart


def _table(rows: list[tuple[str, str | Text]], width: int) -> Content:
    """Two aligned columns as one Content, values wrapped under themselves. A Rich Table
    looked the same but cost ~13 ms to measure and draw on every poll, in every console
    of a served class."""
    key_width = max((len(key) for key, _ in rows), default=0) + 2
    room = max(10, width - key_width)
    lines: list[Text] = []
    for key, value in rows:
        style = value.style if isinstance(value, Text) else ""
        pieces = textwrap.wrap(str(value), room) or [""]
        lines.append(Text.assemble((key.ljust(key_width), "bold"), (pieces[0], style)))
        lines += [Text.assemble(" " * key_width, (piece, style)) for piece in pieces[1:]]
    return Content.from_rich_text(Text("\n").join(lines))


def guest_rows(guest: Guest) -> list[tuple[str, str | Text]]:
    m = guest.metrics
    ha = "-" if guest.ha is None else (
        f"{guest.ha.state} (requested {guest.ha.request}"
        + (f", group {guest.ha.group}" if guest.ha.group else "")
        + (f", nodes {','.join(guest.ha.nodes)}" if guest.ha.nodes else "")
        + f", max_restart {guest.ha.max_restart}, max_relocate {guest.ha.max_relocate})")
    kind = ("VM" if guest.kind == "qemu" else "container") + (" template" if guest.template else "")
    rows: list[tuple[str, str | Text]] = [
        ("Name", Text(guest.name)),
        ("Type", kind + (f" {guest.vmid}" if guest.vmid is not None else "")),
        ("Status", str(guest.status) + (f", lock: {guest.lock}" if guest.lock else "")),
        ("Node", guest.node),
        # 0: the backend does not know it (libvirt has no uptime for a domain)
        ("Uptime", fmt.duration(guest.uptime) if guest.running and guest.uptime else "-"),
        ("vCPUs", f"{guest.maxcpu}  ({fmt.percent(m.cpu)} used)"),
        ("Memory", f"{fmt.size(m.mem)} of {fmt.size(guest.maxmem)}"),
        ("Disk", f"{fmt.size(guest.disk)} of {fmt.size(guest.maxdisk)}"
                 + (f" on {', '.join(guest.storages)}" if guest.storages else "")),
        ("Disk I/O", f"read {fmt.rate(m.disk_read)}, write {fmt.rate(m.disk_write)}"),
        ("Network", f"in {fmt.rate(m.net_in)}, out {fmt.rate(m.net_out)}"),
        ("IP address", guest.ip or "-"),
        ("HA", ha),
    ]
    if guest.tags:
        rows.append(("Tags", Text(", ".join(guest.tags))))
    return rows


def node_rows(node: Node, inventory: Inventory) -> list[tuple[str, str | Text]]:
    guests = [g for g in inventory.guests_on(node.name) if not g.template]
    running = sum(g.running for g in guests)
    m = node.metrics
    return [
        ("Node", Text(node.name)),
        ("Status", str(node.status) + (f" (HA: {node.ha_state})" if node.ha_state else "")),
        ("Uptime", fmt.duration(node.uptime) if node.online else "-"),
        ("CPU", f"{fmt.percent(m.cpu)} of {node.maxcpu} cores"),
        ("Load", " ".join(f"{x:.2f}" for x in node.loadavg)),
        ("Memory", f"{fmt.size(m.mem)} of {fmt.size(node.maxmem)}"),
        ("Network", f"in {fmt.rate(m.net_in)}, out {fmt.rate(m.net_out)}"),
        ("Guests", f"{running} running of {len(guests)}"),
        ("", Text(", ".join(g.name for g in guests[:40]) + (" …" if len(guests) > 40 else ""),
                  style="dim")),
    ]


def cluster_rows(name: str, inventory: Inventory, error: str | None
                 ) -> list[tuple[str, str | Text]]:
    nodes = inventory.nodes
    guests = [g for g in inventory.guests if not g.template]
    online = [n for n in nodes if n.online]
    used = total_metrics(n.metrics for n in online)
    cores = sum(n.maxcpu for n in online)
    cpu_used = sum(n.metrics.cpu * n.maxcpu for n in online)
    q = inventory.quorum
    rows: list[tuple[str, str | Text]] = [
        ("Cluster", Text(name)),
        ("Quorum", "-" if q is None else
         f"{'quorate' if q.quorate else 'NOT quorate'}, {q.votes} of {q.expected} votes"),
        ("Nodes", f"{len(online)} online of {len(nodes)}"),
        ("Guests", f"{sum(g.running for g in guests)} running of {len(guests)}"
                   f", {sum(g.template for g in inventory.guests)} templates"),
        ("CPU", f"{cpu_used:.1f} of {cores} cores"
                + (f" ({fmt.percent(cpu_used / cores)})" if cores else "")),
        ("Memory", f"{fmt.size(used.mem)} of {fmt.size(sum(n.maxmem for n in online))}"),
    ]
    for s in inventory.storages:
        where = "shared" if s.shared else f"on {s.node}"
        state = "" if s.active else ", UNAVAILABLE"
        rows.append((f"Storage {s.name}", f"{s.type} {where}{state}: "
                     f"{fmt.size(s.used)} of {fmt.size(s.total)}"))
    if error:
        rows.insert(1, ("Unreachable", Text(error, style="bold")))
    return rows


class DetailPane(VerticalScroll):
    """Shows the selection: a table of facts and, for nodes and guests, graphs."""

    DEFAULT_CSS = """
    DetailPane { padding: 0 1; scrollbar-gutter: stable; }
    DetailPane #facts { margin-bottom: 1; }
    DetailPane .charts { height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="facts")
        yield MetricChart("CPU", "%", id="chart-cpu")
        yield MetricChart("Memory", "GiB", id="chart-mem")
        yield MetricChart("Network", "KiB/s", id="chart-net")

    _shown: tuple[TreeRef | None, Inventory | None, str | None, list[MetricSample]] = (
        None, None, None, [])

    def on_resize(self) -> None:
        self.show(*self._shown)  # values wrap to the pane's width

    def show(self, ref: TreeRef | None, inventory: Inventory | None, error: str | None,
             samples: list[MetricSample]) -> None:
        self._shown = (ref, inventory, error, samples)
        facts = self.query_one("#facts", Static)
        width = facts.content_region.width or self.scrollable_content_region.width - 2
        charts = list(self.query(MetricChart))
        obj = None if inventory is None or ref is None else inventory.objects().get(ref.object_id)
        if ref is None or inventory is None:
            facts.update(Text(error or "waiting for the first poll…", style="italic"))
        elif ref.is_cluster:
            facts.update(_table(cluster_rows(ref.cluster, inventory, error), width))
        elif isinstance(obj, Guest):
            facts.update(_table(guest_rows(obj), width))
        elif isinstance(obj, Node):
            facts.update(_table(node_rows(obj, inventory), width))
        else:
            facts.update(Text("gone: it is no longer in the cluster", style="italic"))
        show_charts = isinstance(obj, Node) or (isinstance(obj, Guest) and not obj.template)
        for chart in charts:
            chart.display = show_charts
        if show_charts:
            self._draw(samples)

    def _draw(self, samples: list[MetricSample]) -> None:
        v = self.app.theme_variables

        def color(name: str) -> str:
            return theme_color(v, name, "white")

        times = [s.time for s in samples]
        self.query_one("#chart-cpu", MetricChart).show(
            times, [Series("cpu", [s.cpu * 100 for s in samples], color("success"))], (0, 100))
        top = max((s.maxmem for s in samples), default=0) / 2**30
        self.query_one("#chart-mem", MetricChart).show(
            times, [Series("used", [s.mem / 2**30 for s in samples], color("accent"))],
            (0, top or 1))
        self.query_one("#chart-net", MetricChart).show(times, [
            Series("in", [s.net_in / 1024 for s in samples], color("primary")),
            Series("out", [s.net_out / 1024 for s in samples], color("warning")),
        ])
