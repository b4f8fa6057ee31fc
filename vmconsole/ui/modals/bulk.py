"""The dialogs of a bulk action: the one confirmation that lists every guest and what
will happen to it (and every guest skipped, and why), and the choice of a bulk
migration's target (a node, or "spread"). Names are data: shown as Content, escaped."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from vmconsole.text import visible, visible_lines
from vmconsole.ui.modals.confirm import ConfirmScreen
from vmconsole.ui.modals.dialog import Dialog

SPREAD = "\x00spread"  # the option id of "spread": no node name holds a NUL


class BulkConfirmScreen(ConfirmScreen):
    """Yes/No over a list: `lines` (what happens to each guest) and `skipped` (each
    guest left alone, and why). Defaults to No, as every confirmation."""

    DEFAULT_CSS = """
    BulkConfirmScreen > Vertical { width: 100; }
    """

    def __init__(self, title: str, question: str, lines: list[str],
                 skipped: list[str]) -> None:
        super().__init__(title, question, yes_label="Go", lines=lines, skipped=skipped)


class BulkTargetScreen(Dialog[str | None]):
    """Where a bulk migration goes: "spread" (each guest to the allowed node the
    rebalance planner scores best) or one node. Returns the node, SPREAD, or None (cancelled)."""

    DEFAULT_CSS = """
    BulkTargetScreen { align: center middle; }
    BulkTargetScreen > Vertical {
        width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    BulkTargetScreen OptionList { height: auto; max-height: 14; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="bulk.cancel")]

    def __init__(self, title: str, nodes: list[tuple[str, str]]) -> None:
        """`nodes`: (name, why not) for each node; an empty why: it may take guests."""
        super().__init__()
        self.title_text, self.nodes = title, nodes

    def compose(self) -> ComposeResult:
        with Vertical() as frame:
            frame.border_title = Content(visible_lines(self.title_text))
            options = [Option("spread: each guest to the allowed node scored best "
                              "(Proxmox's TOPSIS over CPU and memory)", id=SPREAD)]
            options += [Option(Content(visible(name) + (f"  ({visible(why)})" if why else "")),
                               id=name, disabled=bool(why)) for name, why in self.nodes]
            yield OptionList(*options)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
