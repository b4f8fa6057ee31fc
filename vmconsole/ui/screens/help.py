"""`?`: every key the console knows, as currently mapped (after the user's keymap)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from vmconsole.text import visible

HELP_INTRO = (
    "Arrows or h/j/k/l move in the tree; Enter expands. Every key below can be remapped "
    "in the config file's [keys] table by the id in the last column. Ctrl+P opens the "
    "command palette, which lists what can be done on the selection."
)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 100; height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def __init__(self, bindings: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self._rows = bindings

    def compose(self) -> ComposeResult:
        table = Table(expand=True, box=None, header_style="bold")
        table.add_column("Key", no_wrap=True)
        table.add_column("Does")
        table.add_column(Text("Id (for [keys])"), style="dim", no_wrap=True)
        for key, description, binding_id in self._rows:
            # Keys come from the user's config: Text, as a Rich Table reads a str as markup.
            table.add_row(Text(visible(key)), Text(visible(description)),
                          Text(visible(binding_id)))
        with VerticalScroll():
            yield Static(Text(HELP_INTRO), classes="intro")
            yield Static(table)
