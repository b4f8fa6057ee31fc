"""The user's [keys] checked against the console's bindings: a remap that gives a key to
one action where another already answers to it (`"app.tasks" = "T"` over Convert to
template) would shadow that action unseen, and `?` would list the key twice. Such a
remap is refused, and named, rather than applied."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from textual.binding import Binding

from vmconsole.config import Config, ConfigError
from vmconsole.text import visible


@dataclass(frozen=True, slots=True)
class KeyClash:
    """A remap refused: `binding_id` was given `key`, which `other_id` (described as
    `other`) answers to `where` ("in the tree") at the same time."""

    binding_id: str
    key: str
    other_id: str
    other: str
    where: str

    def said(self, config: Config) -> str:
        """The refusal as the config's own errors read: the file, the line, the key."""
        return str(ConfigError(
            config.path, f"{visible(self.key)} is already {self.other_id} ({self.other}) "
            f"{self.where}: not remapped, {self.binding_id} keeps its own key",
            config.key_lines.get(self.binding_id), f'keys."{visible(self.binding_id)}"'))


def _keys(binding: Binding, keymap: Mapping[str, str]) -> set[str]:
    mapped = keymap.get(binding.id, binding.key) if binding.id else binding.key
    return {key.strip() for key in mapped.split(",")}


def _clashes(scopes: Sequence[tuple[str, Sequence[Binding]]],
             keymap: Mapping[str, str]) -> list[KeyClash]:
    found: dict[tuple[str, str], KeyClash] = {}  # one per (remapped id, key)
    for where, bindings in scopes:
        for binding in bindings:
            if (remapped := binding.id) is None or remapped not in keymap:
                continue
            for other in bindings:
                if other.id == remapped:
                    continue
                for key in sorted(_keys(binding, keymap) & _keys(other, keymap)):
                    found.setdefault((remapped, key), KeyClash(
                        remapped, key, other.id or "", other.description, where))
    return list(found.values())


def settle_keymap(scopes: Sequence[tuple[str, Sequence[Binding]]],
                  keymap: Mapping[str, str]) -> tuple[dict[str, str], list[KeyClash]]:
    """`keymap` (binding id -> keys, as the config's [keys]) without the remaps that
    would give a key to two actions at once, and those clashes. `scopes` are the
    bindings that answer at the same time, by where: a remap is refused when one of its
    keys is another binding's in any scope that holds both. Refusing one puts its binding
    back on its own key, which may clash with another remap in turn (a swap of two keys
    with one half refused): refused too, until none clashes."""
    kept, refused = dict(keymap), []
    while clashes := _clashes(scopes, kept):
        for clash in clashes:
            kept.pop(clash.binding_id, None)
        refused += clashes
    return kept, refused
