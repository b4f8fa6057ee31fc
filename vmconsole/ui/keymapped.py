"""A widget's own bindings as the user's [keys] map them, for the widgets that run a
binding where its key arrives (the tree, the text boxes) instead of letting Textual look
it up once the key has gone up to the app: Textual applies the keymap only there
(`Screen._binding_chain`), so a lookup in `_bindings` would still answer to the old key."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from textual.binding import BindingsMap, Keymap
from textual.dom import DOMNode

# Per node, the keymap and its bindings mapped with it, made again only for a new keymap
# (Textual makes one at each `set_keymap`, so a remap while the console runs is seen):
# a cursor key held down does not copy the tree's bindings at every repeat (issue 12).
# Weak: a node removed from the screen takes its entry with it.
_mapped: WeakKeyDictionary[DOMNode, tuple[Keymap, BindingsMap]] = WeakKeyDictionary()


def keymapped(node: DOMNode) -> BindingsMap:
    """`node`'s bindings (its own and those it inherits) with the app's keymap applied:
    a remapped binding under its new keys only, as Textual would find it."""
    keymap = node.app._keymap
    mapped = _mapped.get(node)
    if mapped is None or mapped[0] is not keymap:
        bindings = node._bindings.copy()
        bindings.apply_keymap(keymap)
        mapped = _mapped[node] = (keymap, bindings)
    return mapped[1]
