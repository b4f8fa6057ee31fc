"""Checks a form makes before it submits, each returning the reason a value is refused
(None when it is fine), in words to show next to the field."""

from __future__ import annotations

import re
from collections.abc import Collection

from vmconsole.ha.rules import node_priorities
from vmconsole.model import Inventory, Storage
from vmconsole.text import visible
from vmconsole.ui import formatting as fmt

VMID_MIN, VMID_MAX = 100, 999_999_999  # Proxmox's range for guest ids
_DNS_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
# Proxmox's "pve-configid" format, which snapshot and HA rule names must follow.
_CONFIG_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{1,39}$")
# A whole number as a field reads it. int() also takes full-width digits ("\uff14"),
# "_" between digits and "+".
_WHOLE = re.compile(r"-?[0-9]+")
# Digits past which a whole number is not read: far past every range a form or a backend
# checks, and short of the 4,300 at which int() refuses to read one (and str() to write
# one: Python's integer string conversion limit), which raised from a form's check.
MOST_DIGITS = 4000
# Storage that allocates a volume's whole size when it is made (thin pools and files
# grow as written, so their free space says little about a clone's fit).
THICK_TYPES = frozenset({"lvm"})
# What a node's priority may be: PVE::HA::Groups' `pve-ha-group-node` format reads
# `node(:\d+)?`, so 0 and up, and a node without one has 0. The API sets no top; the
# web interface's priority field (pve-manager, ha/NodePrioritySelector.js) takes 0 to
# 1000, and so does this console: past 2**53 Perl compares priorities as floats, and a
# 20-digit priority is a typing slip, not a preference.
PRIORITY_MAX = 1000
PRIORITY_RULE = f"a priority is a whole number from 0 to {PRIORITY_MAX} (pve2:2; the " \
    "higher, the more preferred)"


def guest_name(value: str, inventory: Inventory | None) -> str | None:
    """A guest name: a DNS label that no guest of the cluster has yet."""
    if not value:
        return "a name is required"
    if len(value) > 63:
        return "at most 63 characters"
    if not _DNS_LABEL.match(value):
        return "letters, digits and hyphens only; no hyphen at either end"
    if inventory is not None and any(g.name == value for g in inventory.guests):
        return f"a guest named '{value}' exists already"
    return None


def vmid(value: str, inventory: Inventory | None) -> str | None:
    """A guest id: a whole number in Proxmox's range that no guest has."""
    if reason := whole_number(value, VMID_MIN, VMID_MAX):
        return reason
    number = int(value)
    if inventory is not None and any(g.vmid == number for g in inventory.guests):
        return f"id {number} is taken"
    return None


def config_id(value: str) -> str | None:
    """A name in Proxmox's pve-configid format (a snapshot's, an HA rule's)."""
    if not value:
        return "a name is required"
    if not _CONFIG_ID.match(value):
        return "2-40 letters, digits, '-' or '_', starting with a letter"
    return None


def snapshot_name(value: str, existing: Collection[str]) -> str | None:
    if reason := config_id(value):
        return reason
    if value == "current":
        return "'current' is reserved for the running state"
    if value in existing:
        return f"a snapshot named '{value}' exists already"
    return None


def rule_name(value: str, existing: Collection[str]) -> str | None:
    """A new HA rule's name: a pve-configid that no rule of either kind has (node- and
    resource-affinity rules share one namespace in Proxmox's rules.cfg)."""
    if reason := config_id(value):
        return reason
    if value in existing:
        return f"a rule named '{value}' exists already"
    return None


def room_for(size: int, storage: Storage | None) -> str | None:
    """Does a full copy of `size` bytes fit on thick storage?"""
    if storage is None or storage.type not in THICK_TYPES:
        return None
    free = storage.total - storage.used
    if size > free:
        return f"not enough space on {storage.name}: needs {fmt.size(size)}, " \
               f"{fmt.size(free)} free"
    return None


def whole(value: str, low: int | None = None, high: int | None = None) -> int | str:
    """The whole number typed in a field (ASCII digits after an optional minus, spaces
    around them ignored), exactly; or why not, for the field: not a whole number, outside
    `low` to `high` (the reason names the range; None leaves that side to the backend's
    check), or longer than `MOST_DIGITS` digits. A number is never clamped or rounded,
    so a refusal and the audit log quote what was typed."""
    text = value.strip()
    if not _WHOLE.fullmatch(text):
        return "a whole number is required (digits 0-9)"
    if low is not None and high is not None:
        outside = f"must be between {low} and {high}"
    elif low is not None:
        outside = f"must be {low} or more"
    elif high is not None:
        outside = f"must be {high} or less"
    else:
        outside = f"at most {MOST_DIGITS} digits"
    if len(text.lstrip("-").lstrip("0")) > MOST_DIGITS:
        return outside
    number = int(text)
    if (low is not None and number < low) or (high is not None and number > high):
        return outside
    return number


def whole_number(value: str, low: int, high: int) -> str | None:
    """Why `value` is not a whole number from `low` to `high` (`whole`), or None."""
    number = whole(value, low, high)
    return number if isinstance(number, str) else None


def node_names(value: str, known: Collection[str]) -> str | None:
    """A comma-separated list of cluster nodes, each with an optional priority in
    Proxmox's syntax (`pve1:2,pve2`; empty is fine: no affinity)."""
    try:
        priorities = node_priorities(split_names(value))
    except ValueError as exc:
        return f"{exc}: {PRIORITY_RULE}"
    if high := [f"{n}:{p}" for n, p in priorities.items() if p > PRIORITY_MAX]:
        return f"'{visible(high[0])}': {PRIORITY_RULE}"
    names = list(priorities)
    unknown = [n for n in names if n not in known]
    if unknown:
        return f"no node {', '.join(unknown)} in this cluster"
    return None


def split_names(value: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in value.split(",") if n.strip())


def required(value: object, what: str) -> str | None:
    return None if value not in (None, "") else f"choose a {what}"
