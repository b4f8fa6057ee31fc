"""The baseline of benchmarks/scale.py: a bare Textual app with a 100-leaf tree.

Whatever a machine's speed or load, the console's figures are printed as ratios to this
app's, measured in the same run: Textual's own cost of starting, painting a tree and
answering a key. `python benchmarks/bare_app.py` runs it in a terminal.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Tree

LEAVES = 100
READY = "leaf 0"  # on screen once the tree is drawn


class BareTree(Tree[int]):
    BINDINGS = [Binding("j", "cursor_down", "Down"), Binding("k", "cursor_up", "Up")]


class BareApp(App[None]):
    """A header, a tree of LEAVES leaves under one expanded branch, a footer."""

    def compose(self) -> ComposeResult:
        yield Header()
        tree: BareTree = BareTree("baseline")
        branch = tree.root.add("branch", expand=True)
        for i in range(LEAVES):
            branch.add_leaf(f"leaf {i}", i)
        tree.root.expand()
        yield tree
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(BareTree).focus()


if __name__ == "__main__":
    BareApp().run()
