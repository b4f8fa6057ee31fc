"""The summary of a node, a datacenter or vSphere cluster, and the cluster in the
detail pane, as rows of (what, value): state, reach, figures, storages, guests
(Proxmox VE's Summary panels of a node and the datacenter, in text)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text

from vmconsole.model import (
    Guest,
    GuestStatus,
    Inventory,
    Node,
    NodeStatus,
    Storage,
    total_metrics,
)
from vmconsole.text import visible, visible_lines
from vmconsole.ui import formatting as fmt
from vmconsole.ui import ha_text, vsphere_text
from vmconsole.ui.guest_summary import reported
from vmconsole.ui.labels import node_state
from vmconsole.ui.styles import LabelStyles
from vmconsole.ui.symbols import Symbols

if TYPE_CHECKING:
    from vmconsole.model.containers import Container


def storage_down_rows(node: Node, inventory: Inventory) -> list[tuple[str, str | Text]]:
    """The storages an online node has but cannot use, with the backend's reason (an
    offline node's are all out of reach: its state says so)."""
    if not node.online:
        return []
    return [(f"Storage {visible(s.name)}",
             Text(f"{visible(s.type)}{', shared' if s.shared else ''}: inactive"
                  + (f": {visible_lines(s.error)}" if s.error else ""), style="bold"))
            for s in inventory.storages if s.node == node.name and not s.active]


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
        ("Uptime", reported(node, fmt.duration(node.uptime), "uptime") if node.online else "-"),
        ("CPU", f"{reported(node, fmt.percent(m.cpu), 'cpu')} of {node.maxcpu} cores"),
        ("Load", reported(node, " ".join(f"{x:.2f}" for x in node.loadavg), "loadavg")),
        ("Memory", f"{reported(node, fmt.size(m.mem), 'mem')} of {fmt.size(node.maxmem)}"),
        ("Network", reported(node, f"in {fmt.rate(m.net_in)}, out {fmt.rate(m.net_out)}",
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
    # One pass in Python, the counting in C: at 10,000 guests three passes and a
    # `Guest.running` call per guest were most of the cluster's facts, drawn at every
    # poll that shows them.
    vm_status = [g.status for g in guests if not g.template]
    online = [n for n in nodes if n.online]
    used = total_metrics(n.metrics for n in online)
    cores = sum(n.maxcpu for n in online)
    cpu_used = sum(n.metrics.cpu * n.maxcpu for n in online)
    return [
        ("Nodes", f"{len(online)} online of {len(nodes)}"),
        ("Guests", f"{vm_status.count(GuestStatus.RUNNING)} running of {len(vm_status)}"
                   f", {len(guests) - len(vm_status)} templates"),
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
