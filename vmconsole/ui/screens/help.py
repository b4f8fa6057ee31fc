"""`?`: every key of the console, as currently mapped (after the user's keymap), by where
it works. Textual's own keys (scrolling, cursor movement inside a widget) are not listed:
they are Textual's, work as in every Textual app, and cannot be remapped by id."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from vmconsole.text import visible
from vmconsole.ui.modals.dialog import Dialog
from vmconsole.ui.modals.moving_keys import ScrolledText

# The keys the intro names in words, by binding id: while the keymap leaves a sentence's
# keys so, its words; once [keys] remaps any of them, the keys themselves, as the table
# lists them.
_WORDED = {"tree.down": ("j", "down"), "tree.up": ("k", "up"),
           "tree.expand": ("l", "right"), "tree.collapse": ("h", "left"),
           "app.next_pane": ("tab",)}
_TREE_IDS = ("tree.down", "tree.up", "tree.expand", "tree.collapse")
_TREE_WORDS = "Arrows or h/j/k/l move in the tree; Right and l expand, Left and h collapse."
_INTRO_END = (
    "moves between the panes: tree, detail, task log, ping, events. Every key below can "
    "be remapped in the config file's [keys] table by the id in the last column. Ctrl+P "
    "opens the command palette, which lists what can be done on the selection.")


@dataclass(frozen=True, slots=True)
class HelpRow:
    """One binding: where it works ("in the tree"), its keys as shown ("l →"), what it
    does, its id for [keys], and its keys as Textual names them ("l", "right")."""

    context: str
    keys: str
    description: str
    binding_id: str
    names: tuple[str, ...] = ()


# Its own keys only: the `?` every other dialog inherits (`ModalWithHelp`) came first
# in the merged bindings, and the key line read "? Close" where Esc is what closes.
class HelpScreen(Dialog[None], inherit_bindings=False):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > ScrolledText {
        width: 90%; max-width: 100; height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def __init__(self, rows: list[HelpRow]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        # One table per context, its name as the title: a name in the Key column would
        # widen it for every row (at 80 columns the descriptions got a third of the line).
        # The same widths for every table, so the columns line up down the screen.
        key_width = max((len(visible(row.keys)) for row in self.rows), default=3)
        id_width = max((len(visible(row.binding_id)) for row in self.rows), default=2)
        tables: dict[str, Table] = {}
        for row in self.rows:
            table = tables.get(row.context)
            if table is None:
                table = tables[row.context] = Table(
                    title=Text(visible(row.context.capitalize()), style="bold underline"),
                    title_justify="left", expand=True, box=None, header_style="bold",
                    show_header=not tables)
                table.add_column("Key", no_wrap=True, width=key_width)
                table.add_column("Does", ratio=1)
                table.add_column(Text("Id (for [keys])"), style="dim", no_wrap=True,
                                 width=max(id_width, len("Id (for [keys])")))
            table.add_row(Text(visible(row.keys)), Text(visible(row.description)),
                          Text(visible(row.binding_id)))
        with ScrolledText():
            yield Static(Text(self._intro()), classes="intro")
            yield Static(Group(*tables.values()))

    def _intro(self) -> str:
        """The line above the table: how to move in the tree and between the panes, by
        the keys that do it now (the rows', the keymap's), each shown as the table shows
        it (`get_key_display`: in ASCII mode the arrows by name)."""
        names = {**_WORDED, **{row.binding_id: row.names for row in self.rows}}

        def keys(binding_id: str) -> str:
            return " or ".join(visible(self.app.get_key_display(Binding(name, "")))
                               for name in names[binding_id])

        def worded(*binding_ids: str) -> bool:  # in any order: the table's is Textual's
            return all(set(names[i]) == set(_WORDED[i]) for i in binding_ids)

        if worded(*_TREE_IDS):
            tree = _TREE_WORDS
        else:
            tree = (f"In the tree, {keys('tree.down')} moves down, {keys('tree.up')} up; "
                    f"{keys('tree.expand')} expands, {keys('tree.collapse')} collapses.")
        tab = "Tab" if worded("app.next_pane") else keys("app.next_pane")
        return f"{tree} {tab} {_INTRO_END}"
