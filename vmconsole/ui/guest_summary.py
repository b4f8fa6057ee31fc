"""A guest's summary in the detail pane, as rows of (what, value): its figures, each
one the source does not report said so, its addresses, HA state, Fault Tolerance and
tags (Proxmox VE's Summary panel of a VM or container, in text)."""

from __future__ import annotations

from rich.text import Text

from vmconsole.model import Guest, GuestAddress, Inventory, Node
from vmconsole.text import visible
from vmconsole.ui import formatting as fmt
from vmconsole.ui import ha_text, vsphere_text
from vmconsole.ui.ft_text import ft_rows
from vmconsole.ui.styles import LabelStyles
from vmconsole.ui.symbols import Symbols


def reported(obj: Guest | Node, text: str, *names: str) -> str:
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
        ("vCPUs", f"{guest.maxcpu}  ({reported(guest, fmt.percent(m.cpu), 'cpu')} used)"),
        ("Memory", f"{reported(guest, fmt.size(m.mem), 'mem')} of {fmt.size(guest.maxmem)}"),
        ("Disk", ("size not reported" if "disk" in guest.unreported
                  else f"{fmt.size(guest.disk)} of {fmt.size(guest.maxdisk)}")
                 + (f" on {', '.join(map(visible, guest.storages))}" if guest.storages else "")
                 + _inactive(guest, inventory)),
        ("Disk I/O", reported(guest, f"read {fmt.rate(m.disk_read)}, write "
                               f"{fmt.rate(m.disk_write)}", "disk_read", "disk_write")),
        ("Network", reported(guest, f"in {fmt.rate(m.net_in)}, out {fmt.rate(m.net_out)}",
                              "net_in", "net_out")),
        *address_rows(guest),
        *ha_rows(guest, inventory, sym, styles),
        *ft_rows(guest),
    ]
    if guest.tags:
        rows.append(("Tags", Text(", ".join(map(visible, guest.tags)))))
    return duplicate_rows(guest, inventory, styles) + rows
