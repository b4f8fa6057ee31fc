"""The guest actions: id, key, title, whether they apply to a selection and, if they
apply but cannot run now, why. The app's key bindings and its command palette are both
made from this one list, so a key and its palette entry never disagree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.binding import Binding, BindingType

from vmconsole.backends.base import Capabilities
from vmconsole.model import Guest, GuestKind, GuestStatus, Inventory
from vmconsole.text import visible


@dataclass(frozen=True, slots=True)
class Selection:
    """The guest a user acts on, with what its backend can do."""

    cluster: str
    guest: Guest
    inventory: Inventory
    capabilities: Capabilities


def _always(_: Selection) -> bool:
    return True


def _never_refused(_: Selection) -> str | None:
    return None


def _not_template(sel: Selection) -> bool:
    return not sel.guest.template


def _start_refusal(sel: Selection) -> str | None:
    guest = sel.guest
    if guest.template:
        return "a template cannot be started: create a guest from it instead"
    if guest.status is GuestStatus.RUNNING:
        return f"{visible(guest.name)} is running already"
    if guest.duplicate is not None:
        copies = [c for copy_id in guest.duplicate.copies
                  if (c := sel.inventory.guest(copy_id)) is not None]
        if running := [c.node for c in copies if c.running]:
            return (f"{visible(guest.name)} already runs on "
                    f"{', '.join(visible(n) for n in running)} (the same "
                    f"{guest.duplicate.shared}): starting this copy on {visible(guest.node)} would "
                    "run one guest twice on the same disks")
        if unknown := [c.node for c in copies if c.status is GuestStatus.UNKNOWN]:
            return (f"{visible(guest.name)} is also defined on "
                    f"{', '.join(visible(n) for n in unknown)} (the same "
                    f"{guest.duplicate.shared}), whose state is unknown: its copy may run "
                    "there")
    return None


def _must_run(sel: Selection) -> str | None:
    return None if sel.guest.running else f"{visible(sel.guest.name)} is not running"


def _must_be_stopped(sel: Selection) -> str | None:
    if sel.guest.status is not GuestStatus.STOPPED:
        return f"only a stopped guest can become a template; {visible(sel.guest.name)} is " \
               f"{sel.guest.status}"
    return None


def _migrate_refusal(sel: Selection) -> str | None:
    guest = sel.guest
    if guest.running and guest.kind is GuestKind.VM and not sel.capabilities.live_migration:
        return "this backend cannot migrate a running VM live: shut it down first"
    if guest.lock:  # Proxmox's migrate checks the lock first (check_lock): said at once
        return (f"{visible(guest.name)} is locked ({visible(guest.lock)}): it can migrate "
                "once the lock is gone")
    return None


def _delete_refusal(sel: Selection) -> str | None:
    """As Proxmox's destroy refuses (backends/removal.py). vSphere HA is no resource
    list to leave first: vCenter stops protecting a VM that is deleted."""
    guest = sel.guest
    if guest.status is not GuestStatus.STOPPED:
        return f"{visible(guest.name)} is {guest.status}: stop it first"
    if guest.ha is not None and guest.ha.vsphere is None:
        return f"{visible(guest.name)} is HA-managed: remove it from HA first"
    return None


@dataclass(frozen=True, slots=True)
class GuestAction:
    """An operation on the selected guests, as the keymap, footer, palette and help show
    it: when it applies, and why it is refused where it does not."""

    id: str  # "guest.migrate": the binding id users remap in [keys]
    key: str | None  # None: from the palette only
    title: str
    help: str
    applies: Callable[[Selection], bool] = _always
    refusal: Callable[[Selection], str | None] = _never_refused
    show: bool = False  # in the footer (80 columns hold only a few)
    changes: bool = True  # False: only looks (a viewer may use it)
    operation: str | None = None  # the task's word for it, where not the name

    @property
    def audited_as(self) -> str:
        """The operation as the task log and the audit log call it."""
        return self.operation or self.name

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1]

    def binding(self) -> Binding | None:
        if self.key is None:
            return None
        return Binding(self.key, f"guest('{self.name}')", self.title, show=self.show,
                       id=self.id)


ACTIONS: tuple[GuestAction, ...] = (
    GuestAction("guest.start", "s", "Start", "Power the guest on", refusal=_start_refusal),
    GuestAction("guest.shutdown", "d", "Shutdown",
                "Ask the guest OS to shut down, then wait up to a timeout",
                _not_template, _must_run),
    GuestAction("guest.stop", "X", "Stop (hard)",
                "Cut the power at once, like pulling the plug (asks first)",
                _not_template, _must_run),
    GuestAction("guest.reboot", "B", "Reboot", "Ask the guest OS to restart",
                _not_template, _must_run),
    GuestAction("guest.create", "n", "Create from template",
                "A new guest from this template: node, storage, name, full or linked",
                lambda s: s.guest.template and s.capabilities.templates, operation="clone"),
    GuestAction("guest.template", "T", "Convert to template",
                "Turn this stopped guest into a template (irreversible on Proxmox)",
                lambda s: not s.guest.template and s.capabilities.templates,
                _must_be_stopped),
    GuestAction("guest.snapshots", "S", "Snapshots",
                "The snapshot tree: take, roll back, delete, clone from one",
                lambda s: not s.guest.template and s.capabilities.snapshots,
                changes=False),
    GuestAction("guest.backups", "b", "Backups",
                "The guest's backups: back up now, restore one, delete one",
                lambda s: not s.guest.template and s.capabilities.backups,
                changes=False),
    GuestAction("guest.clone", "c", "Clone",
                "A copy with a new name, UUID and MACs, from a stopped guest or a snapshot",
                _not_template),
    GuestAction("guest.migrate", "m", "Migrate",
                "Move to another node: live, offline, or restart for containers",
                refusal=_migrate_refusal),
    GuestAction("guest.ha", "H", "High availability",
                "Make the guest an HA resource or change its HA settings",
                lambda s: not s.guest.template and s.capabilities.ha),
    GuestAction("guest.hardware", "E", "Hardware",
                "vCPUs, memory, grow a disk, a NIC's link: now or at the next start",
                lambda s: not s.guest.template and s.capabilities.hardware),
    GuestAction("guest.console", "C", "Serial console",
                "The guest's serial console on a screen of its own: keys go to the guest, "
                "Ctrl+] detaches (operators; a viewer as serial_console_viewers says)",
                lambda s: not s.guest.template and s.capabilities.serial_console, _must_run,
                changes=False, operation="console"),
    GuestAction("guest.ha_remove", None, "Remove from HA",
                "Stop managing this guest with the HA manager (asks first)",
                lambda s: s.capabilities.ha and s.guest.ha is not None, operation="ha-remove"),
    GuestAction("guest.delete", None, "Delete",
                "Destroy the guest and every disk it owns (asks first; cannot be undone)",
                lambda s: s.capabilities.destroy, _delete_refusal, operation="destroy"),
)

BY_NAME: dict[str, GuestAction] = {a.name: a for a in ACTIONS}


def bindings() -> list[BindingType]:
    return [b for a in ACTIONS if (b := a.binding()) is not None]


def applicable(selection: Selection) -> list[tuple[GuestAction, str | None]]:
    """The actions offered for a selection, each with the reason it cannot run now."""
    return [(a, a.refusal(selection)) for a in ACTIONS if a.applies(selection)]
