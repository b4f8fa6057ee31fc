"""Where each of the console's keys works: the places (the app, its panes, each screen
and dialog) in the order `?` lists them, the bindings of each, the rows of the help with
the shown screen's keys first, and the keys that answer at the same time (what a
`[keys]` remap is checked against, `ui/keymap.py`).

Loaded when used: by `?` and by a config that remaps a key. Every screen and dialog
named here is imported inside `binding_places`, so none is loaded before the first
screen (tests/ui/test_lazy_imports.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.actions import parse
from textual.binding import Binding
from textual.dom import DOMNode

from vmconsole.ui.widgets.cluster_tree import ClusterTree

if TYPE_CHECKING:
    from textual.app import App

    from vmconsole.ui.screens.help import HelpRow

# The app's keys by what they act on, listed apart from its other keys: (id prefix,
# where). The prefixes are those of the ids the features give their bindings.
_APP_KEY_GROUPS = (("guest.", "on the guest selected in the tree"),
                   ("node.", "on the node selected in the tree"),
                   ("teach.", "in the demo (teaching mode)"))


@dataclass(frozen=True, slots=True)
class Place:
    """Where a set of keys works: its name as the help says it ("in the tree"), the
    class whose bindings work there, and whether that is on the main screen (where the
    app's own keys answer too) or on a screen of its own."""

    context: str
    cls: type[DOMNode]
    on_main_screen: bool


def own_bindings(cls: type[DOMNode]) -> list[Binding]:
    """The bindings of `cls` (its own and those it inherits) that have an id and a
    description, each once: Textual's unnamed ones (scrolling, cursor keys) are left
    out, as they cannot be remapped."""
    found: list[Binding] = []
    for bindings in cls._merge_bindings().key_to_bindings.values():
        found += [b for b in bindings if b.id and b.description and b not in found]
    return found


def binding_places(app: type[DOMNode]) -> tuple[Place, ...]:
    """Every place of the console whose keys `?` lists, in the help's order: the app
    (`app`, the console's class) first, then the main screen's panes, then each screen
    and dialog. A screen or dialog missing here has its keys left out of the help and of
    the remap's checks."""
    # dialogs, screens and the panes made when first shown: loaded when used
    from vmconsole.ui.modals.address_picker import AddressPicker
    from vmconsole.ui.modals.backups import BackupPanel
    from vmconsole.ui.modals.bulk import BulkTargetScreen
    from vmconsole.ui.modals.confirm import ConfirmScreen
    from vmconsole.ui.modals.delete import DeleteScreen
    from vmconsole.ui.modals.form import FormScreen
    from vmconsole.ui.modals.snapshots import SnapshotPanel
    from vmconsole.ui.modals.task_detail import TaskDetailScreen
    from vmconsole.ui.modals.task_panel import TaskPanel
    from vmconsole.ui.screens.audit import AuditRecordScreen, AuditScreen
    from vmconsole.ui.screens.faults import FaultScreen
    from vmconsole.ui.screens.ha_rules import HARulesScreen
    from vmconsole.ui.screens.help import HelpScreen
    from vmconsole.ui.screens.rebalance import RebalanceScreen
    from vmconsole.ui.screens.serial_console import SerialView
    from vmconsole.ui.widgets.address_box import AddressBox
    from vmconsole.ui.widgets.ping_panel import PingPanel
    from vmconsole.ui.widgets.task_log import TaskLog

    main: tuple[tuple[str, type[DOMNode]], ...] = (
        ("anywhere", app), ("in the tree", ClusterTree), ("in the task log", TaskLog),
        ("in the ping panel", PingPanel), ("in the ping address box", AddressBox))
    screens: tuple[tuple[str, type[DOMNode]], ...] = (
        ("in the snapshot and backup panels", TaskPanel),
        ("in the snapshot panel", SnapshotPanel),
        ("in the backup panel", BackupPanel),
        ("in the serial console", SerialView),
        ("in the HA rules screen", HARulesScreen),
        ("in the rebalance plan", RebalanceScreen),
        ("in a form", FormScreen),
        ("in a yes-or-no question", ConfirmScreen),
        ("in the question before a delete", DeleteScreen),
        ("in the bulk migration's choice of node", BulkTargetScreen),
        ("in the address picker", AddressPicker),
        ("in a task's detail", TaskDetailScreen),
        ("in the fault menu", FaultScreen),
        ("in the audit log", AuditScreen),
        ("in an audit record", AuditRecordScreen),
        ("in the help", HelpScreen))
    return (*(Place(context, cls, True) for context, cls in main),
            *(Place(context, cls, False) for context, cls in screens))


def binding_contexts(app: type[DOMNode]) -> list[tuple[str, list[Binding]]]:
    """The console's own bindings (`own_bindings`) by where they work, as `?` lists
    them: (context, bindings), the app's keys split by what they act on (the guest, the
    node, the demo). Each id once, where first listed: a key a panel inherits
    (TaskPanel's) where its base is, a screen's `?` (the app's id, `help_key.py`) with
    the app's keys."""
    out: list[tuple[str, list[Binding]]] = []
    listed: set[str | None] = set()
    for place in binding_places(app):
        found = [b for b in own_bindings(place.cls) if b.id not in listed]
        listed.update(b.id for b in found)
        if place.cls is app:
            for prefix, where in _APP_KEY_GROUPS:
                out.append((where, [b for b in found if (b.id or "").startswith(prefix)]))
            prefixes = tuple(prefix for prefix, _ in _APP_KEY_GROUPS)
            found = [b for b in found if not (b.id or "").startswith(prefixes)]
        out.append((place.context, found))
    return out


def key_scopes(app: type[DOMNode],
               anywhere: frozenset[str]) -> list[tuple[str, list[Binding]]]:
    """The console's bindings that answer at the same time, by where: the app's own
    keys on the main screen, with those of each of its panes in turn (the focused one
    answers first); over another screen, that screen's with the app's keys whose action
    is in `anywhere` (those that reach past it: quit, help, Tab)."""
    app_keys = own_bindings(app)
    reaching = [b for b in app_keys if parse(b.action)[1] in anywhere]
    scopes = [("on the main screen", app_keys)]
    for place in binding_places(app)[1:]:
        scopes.append((place.context, [*(app_keys if place.on_main_screen else reaching),
                                       *own_bindings(place.cls)]))
    return scopes


def help_rows(app: App[Any]) -> list[HelpRow]:
    """The rows `?` shows over `app`'s current screen: one per binding id, its keys as
    the keymap now has them ("l →", "x del"), by context; over a screen of its own (the
    rebalance plan, a panel, a form) that screen's contexts first."""
    from vmconsole.ui.screens.help import HelpRow  # loaded with the help

    rows: list[HelpRow] = []
    keymap = app._keymap
    for context, bindings in binding_contexts(type(app)):
        keys: dict[str, list[str]] = {}
        descriptions: dict[str, str] = {}
        for binding in bindings:
            assert binding.id is not None
            for key in keymap.get(binding.id, binding.key).split(","):
                if key.strip() not in keys.setdefault(binding.id, []):
                    keys[binding.id].append(key.strip())
            descriptions.setdefault(binding.id, binding.description)
        rows += [HelpRow(context, " ".join(app.get_key_display(Binding(k, "")) for k in names),
                         descriptions[i], i, tuple(names)) for i, names in keys.items()]
    here = {place.context for place in binding_places(type(app))[1:]
            if isinstance(app.screen, place.cls)}
    rows.sort(key=lambda row: row.context not in here)  # stable: each context's order kept
    return rows
