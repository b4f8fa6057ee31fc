"""Tree labels as rich Text (never markup: a guest may be called "[bold]x"), every
string from the backend made visible (`vmconsole.text.visible`).

A label carries only what changes rarely — name, id, status, HA state, lock — because
relabelling is what a poll costs at 10,000 guests; moving figures live in the detail pane.
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING

from rich.text import Text

from vmconsole.model import (
    Guest,
    GuestKind,
    GuestStatus,
    Inventory,
    Node,
    NodeStatus,
)
from vmconsole.text import visible
from vmconsole.ui import ha_text
from vmconsole.ui.styles import LabelStyles
from vmconsole.ui.symbols import Symbols

if TYPE_CHECKING:
    from vmconsole.model.containers import Container

# The fields a label below shows. Only a change in one of them relabels a tree node:
# relabelling costs ~30 us a node, so 10,000 guests must not all relabel on every poll.
_guest_key = attrgetter("name", "kind", "node", "status", "vmid", "template", "ha", "lock",
                        "duplicate")  # one C call instead of a generator
_node_key = attrgetter("name", "status", "ha_state", "storage_down")


def label_key(obj: Node | Guest) -> object:
    """What `guest_label`/`node_label` draw of an object, as one comparable tuple: the
    `model.LabelKey` the console's pollers diff by."""
    return _guest_key(obj) if isinstance(obj, Guest) else _node_key(obj)


def guest_title(guest: Guest) -> str:
    """A guest as a title or a question names it, telling apart two guests of one name:
    "web [prod] (qemu/100 on pve1)". Made visible (`vmconsole.text.visible`): show it
    through rich `Text` or Textual `Content`, never as markup."""
    return named(guest.name, guest.id, guest.node)


def named(name: str, guest_id: str, node: str) -> str:
    """`guest_title` of a guest known by its name, id and node (a bulk plan's item)."""
    return f"{visible(name)} ({visible(guest_id)} on {visible(node)})"


def guest_label(guest: Guest, sym: Symbols, styles: LabelStyles) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    if guest.template:
        text.append(sym.template, styles.accent)
    else:
        status_style = {
            GuestStatus.RUNNING: styles.ok,
            GuestStatus.STOPPED: styles.muted,
            GuestStatus.PAUSED: styles.warn,
        }.get(guest.status, styles.bad)
        text.append(sym.guest(guest.status), status_style)
    text.append(" ")
    if guest.vmid is not None:
        text.append(f"{guest.vmid} ", styles.muted)
    text.append(visible(guest.name))
    text.append(" vm" if guest.kind is GuestKind.VM else " ct", styles.muted)
    if guest.status is GuestStatus.PAUSED and guest.status_reason:
        text.append(f" paused ({visible(guest.status_reason)})", styles.warn)
    if guest.template:
        text.append(" template", styles.accent)
    if guest.ha is not None:
        text.append(" ")
        text.append_text(ha_text.badge(guest.ha.state, ha_text.service_info(guest.ha.state),
                                       sym, styles))
    if guest.lock:
        text.append(f" {sym.lock}{visible(guest.lock)}", styles.warn)
    if guest.duplicate is not None:
        text.append(f" {sym.duplicate}same {guest.duplicate.shared} on "
                    f"{', '.join(visible(n) for n in guest.duplicate.nodes)}", styles.bad)
    return text


def node_state(node: Node) -> str:
    """A node's state in words: the backend's status, but "unreachable" for one that
    is down because the console cannot reach it (it may well be up), and
    "connecting…" before its first answer."""
    if node.status is NodeStatus.CONNECTING:
        return "connecting…"
    if node.error and not node.online:
        return "unreachable"
    return str(node.status)


def node_label(node: Node, sym: Symbols, styles: LabelStyles) -> Text:
    online = node.status is NodeStatus.ONLINE
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(sym.node(node.status), styles.ok if online else styles.bad)
    text.append(f" {visible(node.name)}", "bold")
    if not online:
        connecting = node.status is NodeStatus.CONNECTING
        text.append(f" {node_state(node)}", styles.warn if connecting else styles.bad)
    elif node.storage_down:  # up, but its guests' shared disks are out of its reach
        text.append(f" storage {', '.join(map(visible, node.storage_down))} inactive",
                    styles.bad)
    if node.ha_state is not None and node.ha_state != "online":
        text.append(" ha:", styles.warn)
        text.append_text(ha_text.badge(node.ha_state, ha_text.node_info(node.ha_state),
                                       sym, styles))
    return text


def container_label(container: Container) -> Text:
    """A datacenter or vSphere cluster: its name, and what it is in the backend's terms."""
    text = Text(visible(container.name), "bold", no_wrap=True, overflow="ellipsis")
    text.append(f" {container.kind}", "dim")
    return text


def cluster_label(name: str, inventory: Inventory | None, error: str | None,
                  styles: LabelStyles) -> Text:
    text = Text(visible(name), "bold", no_wrap=True, overflow="ellipsis")
    if error is not None:
        text.append(f" unreachable: {visible(error)}", styles.bad)
    elif inventory is None:  # no poll has ended yet: it may take the cluster's timeout
        text.append(" connecting…", styles.warn)
    elif inventory.quorum is not None:
        q = inventory.quorum
        if q.quorate:
            text.append(f" quorate {q.votes}/{q.expected}", styles.ok)
        else:
            text.append(f" NO QUORUM {q.votes}/{q.expected}", styles.bad)
    return text
