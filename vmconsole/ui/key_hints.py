"""Key hints as the user's keymap makes them: a panel's "n take  r roll back" line names
the keys its bindings answer to now, a `[keys]` remapping included, written as the
footer writes them (Textual's `App.get_key_display`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.screen import Screen


def keys_for(screen: Screen[Any], binding_id: str) -> str:
    """The key(s) the binding with id `binding_id` answers to on `screen`, "/"-joined
    ("x/delete"); "" when none does (a binding of another screen, or none by that id).
    Reads Textual's active bindings, so call it when the keymap is set (after mount)."""
    app = screen.app
    keys = [app.get_key_display(active.binding) for active in screen.active_bindings.values()
            if active.binding.id == binding_id]
    return "/".join(dict.fromkeys(keys))


def hint_line(screen: Screen[Any], items: Sequence[tuple[str, str]]) -> str:
    """"n take  r roll back ...": each (binding ids, what they do) with their key(s)
    now; ids are space-separated for a pair that reads as one ("[ ] speed"). An item
    whose bindings answer to no key is left out."""
    hints = []
    for binding_ids, what in items:
        keys = " ".join(k for binding_id in binding_ids.split()
                        if (k := keys_for(screen, binding_id)))
        if keys:
            hints.append(f"{keys} {what}")
    return "  ".join(hints)
