"""The user's [keys] checked against Textual and the console's bindings. A key Textual
never reports (`F3`, `Down`, `f99`) would leave its action with no key: it stops the
console, as a malformed one does (the config, which imports no Textual, checks only
their form). A remap that gives a key to one action where another already answers to it
(`"app.tasks" = "T"` over Convert to template) would shadow that action unseen, and `?`
would list the key twice. Such a remap is refused, and named, rather than applied."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from textual.binding import Binding
from textual.keys import REPLACED_KEYS, Keys, _character_to_key, key_to_character

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
        return str(_key_error(
            config, self.binding_id, f"{visible(self.key)} is already {self.other_id} "
            f"({self.other}) {self.where}: not remapped, {self.binding_id} keeps its own key"))


def _key_error(config: Config, binding_id: str, message: str) -> ConfigError:
    return ConfigError(config.path, message, config.key_lines.get(binding_id),
                       f'keys."{visible(binding_id)}"')


#: The modifiers Textual puts before a key's name ("ctrl+shift+up"): its xterm parser's
#: (textual/_xterm_parser.py, the kitty keyboard protocol's included).
_MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")

#: The names of the keys that are no character ("up", "f3", "escape", "space"), as
#: textual.keys.Keys gives them after its modifiers.
_KEY_NAMES = frozenset(key.value.rpartition("+")[2] for key in Keys)


def _not_a_key(key: str) -> str | None:
    """Why Textual never reports `key`, or None when it may: modifiers, each once,
    before a name of `Keys` or a character's key name as Textual gives it
    (`_character_to_key`: "j", "J", "1", "question_mark", "slash"; "?" is not one)."""
    *modifiers, name = key.split("+")
    if wrong := next((m for m in modifiers if m not in _MODIFIERS), None):
        return f"'{wrong}' is not a modifier (modifiers: {', '.join(_MODIFIERS)})"
    if len(set(modifiers)) < len(modifiers):
        return "a modifier is given twice"
    if name in _KEY_NAMES:
        return None
    # A name Textual replaced ("slash" for "solidus") is looked up by the name it replaced.
    character = key_to_character(REPLACED_KEYS.get(name, name))
    if character is not None and _character_to_key(character) == name:
        return None
    return (f"'{name}' is no key Textual reports (names are lower case, such as f1, "
            "down or enter; a sign goes by its name, such as question_mark)")


def check_key_names(config: Config) -> None:
    """Raises ConfigError, with the file, the line and the id, for the first key of the
    config's [keys] that Textual never reports (`_not_a_key`): its action would have no
    key at all."""
    for binding_id, keys in config.keys.items():
        for key in keys.split(","):
            if why := _not_a_key(key):  # no spaces: the config refuses them
                raise _key_error(config, binding_id, f"{key}: {why}")


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
