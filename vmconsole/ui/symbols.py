"""Status symbols, with an ASCII set for terminals without Unicode (TERM=linux, a
non-UTF-8 locale, or --ascii)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.keys import KEY_DISPLAY_ALIASES

from vmconsole.model import GuestStatus, HAPhase, NodeStatus
from vmconsole.text import ELLIPSIS

if TYPE_CHECKING:
    from textual.widgets import Tree


@dataclass(frozen=True, slots=True)
class Symbols:
    """The characters that show states in the tree and the charts: Unicode or ASCII."""

    running: str
    stopped: str
    paused: str
    unknown: str
    online: str
    offline: str
    template: str
    ha: str
    lock: str
    # An HA state's phase (model.HAPhase): steady is `ha` above.
    ha_pending: str
    ha_trouble: str
    ha_frozen: str
    ha_unmanaged: str
    duplicate: str  # one of several copies of one guest
    marked: str  # a guest marked for a bulk action
    # The tree's toggle before a cluster or node: closed, open (Textual's Tree icons,
    # with the space after them).
    collapsed: str
    expanded: str
    # The Down arrow key, as a hint that asks for it writes it: in ASCII its name, as a
    # `v` would be read as the v key.
    down_key: str
    ascii: bool = False  # charts too: '*' and +-| instead of braille and box drawing

    def guest(self, status: GuestStatus) -> str:
        return {
            GuestStatus.RUNNING: self.running,
            GuestStatus.STOPPED: self.stopped,
            GuestStatus.PAUSED: self.paused,
        }.get(status, self.unknown)

    def node(self, status: NodeStatus) -> str:
        return self.online if status is NodeStatus.ONLINE else self.offline

    @property
    def cut(self) -> str:
        """The end of a name cut to fit the screen (a tree row, a table cell), at the
        edge rather than before a word: `…`, `...` in ASCII (`~`, one cell, is a pending
        HA state there)."""
        return "..." if self.ascii else ELLIPSIS

    @property
    def arrow(self) -> str:
        """From one value to the next ("50→75%", "pve1 → pve2"): `→`, `->` in ASCII."""
        return "->" if self.ascii else "→"

    def ha_phase(self, phase: HAPhase | None) -> str:
        """The mark of an HA state's phase; `unknown` for a state the console does not
        know (shown with the manager's own word)."""
        marks = {HAPhase.STEADY: self.ha, HAPhase.PENDING: self.ha_pending,
                 HAPhase.TROUBLE: self.ha_trouble, HAPhase.FROZEN: self.ha_frozen,
                 HAPhase.UNMANAGED: self.ha_unmanaged}
        return marks.get(phase, self.unknown) if phase is not None else self.unknown


# No two meanings share a mark. A marked guest is `✓` (an online node's `●` beside a
# guest read as its node's state); in ASCII it is `*` (the key that marks), so an
# online node is `@`, the filled `o` of its offline twin. The tree's toggles are
# Textual's own arrows; in ASCII `[+]` and `[-]`, as `+` alone is an HA state's mark and
# `>` a running guest's.
UNICODE = Symbols("▶", "■", "‖", "?", "●", "○", "◇", "♥", "⟳",
                  "…", "!", "❄", "⊘", "⧉", "✓", "▶ ", "▼ ", "↓")
ASCII = Symbols(">", "#", "=", "?", "@", "o", "T", "+", "L",
                "~", "!", "%", "-", "&", "*", "[+] ", "[-] ", "Down", ascii=True)


# A tree's guide lines in ASCII (`|` down, `` ` `` at the last child, as `tree -A` has
# them; `+` is an HA state's mark), in each of Textual's styles (bold under the cursor).
_ASCII_GUIDES = ("  ", "| ", "`-", "|-")
ASCII_TREE_LINES = dict.fromkeys(("default", "bold", "double"), _ASCII_GUIDES)


def draw_tree(tree: Tree, symbols: Symbols) -> None:
    """Give a tree the toggles of `symbols`, and in ASCII its guide lines."""
    tree.ICON_NODE, tree.ICON_NODE_EXPANDED = symbols.collapsed, symbols.expanded
    tree.LINES = ASCII_TREE_LINES if symbols.ascii else type(tree).LINES


# The keys Textual writes as a symbol (`↑`, `⌫`, `⏎`), by their names in ASCII mode.
_KEY_NAMES = {shown: key for key, shown in KEY_DISPLAY_ALIASES.items() if not shown.isascii()}


def ascii_key(shown: str) -> str:
    """A key as Textual writes it (`↑`, `^↑`, `shift+⏎`) with each symbol named (`up`,
    `^up`, `shift+enter`)."""
    for symbol, name in _KEY_NAMES.items():
        shown = shown.replace(symbol, name)
    return shown


def detect_ascii(env: dict[str, str] | None = None) -> bool:
    """Plain ASCII where the terminal likely cannot draw Unicode symbols."""
    env = dict(os.environ if env is None else env)
    if env.get("TERM") == "linux":
        return True
    locale = env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or ""
    return bool(locale) and "utf" not in locale.lower().replace("-", "")
