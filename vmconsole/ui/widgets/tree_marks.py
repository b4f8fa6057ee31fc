"""The guests marked for a bulk action, and the nodes the console holds in maintenance,
as the tree shows them: a mark before a marked guest's label, `maintenance` after a
node's. Marks are (cluster, guest id) pairs, so they survive polls (a relabel draws the
mark again), filters (a hidden guest stays marked) and moves between nodes (the id
stays); a guest that leaves the inventory leaves the marks."""

from __future__ import annotations

from rich.text import Text

from vmconsole.ui.styles import LabelStyles
from vmconsole.ui.symbols import Symbols


class TreeMarks:
    """The marks and maintenance nodes of one tree."""

    def __init__(self) -> None:
        self.marked: set[tuple[str, str]] = set()
        self.maintenance: dict[str, frozenset[str]] = {}

    def __len__(self) -> int:
        return len(self.marked)

    def of(self, cluster: str) -> list[str]:
        """The marked guests' ids of one cluster, sorted."""
        return sorted(g for c, g in self.marked if c == cluster)

    def clusters(self) -> list[str]:
        return sorted({c for c, _ in self.marked})

    def guest(self, cluster: str, guest_id: str, label: Text, sym: Symbols,
              styles: LabelStyles) -> Text:
        """A guest's label, with the mark before it when it is marked."""
        if (cluster, guest_id) not in self.marked:
            return label
        return Text(f"{sym.marked} ", styles.accent, no_wrap=True,
                    overflow="ellipsis") + label

    def node(self, cluster: str, name: str, label: Text, shown: bool,
             styles: LabelStyles) -> Text:
        """A node's label, with `maintenance` after it when the console holds it there
        and its HA manager does not already say so (`shown`)."""
        if shown or name not in self.maintenance.get(cluster, ()):
            return label
        return label + Text(" maintenance", styles.warn)
