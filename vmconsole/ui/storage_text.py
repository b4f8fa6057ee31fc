"""A storage as the console shows it: its row in the tree (under the node that has it,
or under the cluster for storage every node shares, as Proxmox's web UI lists storage
under each node) and its facts in the detail pane, the figures as the backend reports
them (used and total bytes: libvirt's pool info, Proxmox's /cluster/resources, vSphere's
datastore summary)."""

from __future__ import annotations

from rich.text import Text

from vmconsole.model import Inventory, Storage
from vmconsole.text import visible
from vmconsole.ui import formatting as fmt
from vmconsole.ui.styles import LabelStyles

#: Guests named in a storage's pane before "and N more".
NAMED_GUESTS = 5


def usage(storage: Storage) -> str:
    """"1.2 GiB of 48.0 GiB (2%)", or "not reported" for a storage with no total (an
    inactive libvirt pool reports 0 of 0)."""
    if storage.total <= 0:
        return "not reported"
    return (f"{fmt.size(storage.used)} of {fmt.size(storage.total)} "
            f"({100 * storage.used / storage.total:.0f}%)")


def state(storage: Storage) -> str:
    """"active", or why not: "inactive" on a node, "unavailable" for one shared by all."""
    if storage.active:
        return "active"
    return "inactive" if storage.node is not None else "unavailable"


def storage_label(storage: Storage, styles: LabelStyles) -> Text:
    """A storage's tree row: `san storage shared 1.2 GiB of 48.0 GiB (2%)`, or
    `san storage shared inactive` when its node cannot use it."""
    text = Text(visible(storage.name), no_wrap=True, overflow="ellipsis")
    text.append(" storage", "dim")
    if storage.shared:
        text.append(" shared", "dim")
    if storage.active:
        text.append(f" {usage(storage)}")
    else:
        text.append(f" {state(storage)}", styles.bad)
    return text


def storage_facts(storage: Storage, inventory: Inventory) -> list[tuple[str, str | Text]]:
    """The detail pane's rows for one storage: what it is, where, its use, its state
    (with the backend's reason when it is not active) and the guests with disks on it."""
    node = visible(storage.node or "")
    where = (f"shared, as {node} sees it" if storage.shared and storage.node
             else "shared by every node" if storage.shared else f"local to {node}")
    on = [g for g in inventory.guests if storage.name in g.storages
          and (storage.node is None or g.node == storage.node)]
    names = ", ".join(visible(g.name) for g in on[:NAMED_GUESTS]) + (
        f" and {len(on) - NAMED_GUESTS} more" if len(on) > NAMED_GUESTS else "")
    rows: list[tuple[str, str | Text]] = [
        ("Name", Text(visible(storage.name))),
        ("Type", visible(storage.type) or "not reported"),
        ("Scope", where),
        ("Content", ", ".join(map(visible, storage.content)) or "none"),
        ("Usage", usage(storage)),
        ("State", state(storage) + (f": {visible(storage.error)}" if storage.error else "")),
        ("Guests", f"{len(on)}: {names}" if on else "none with a disk on it"),
    ]
    return rows
