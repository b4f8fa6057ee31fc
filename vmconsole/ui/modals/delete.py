"""Ask before deleting guests whose disks may stay (backends.removal.SupportsUndefine:
libvirt): what goes, each disk that stays and why, and the choice of deleting the
guests' own disks too or keeping them. The answer defaults to No, as every confirmation.
Names are data: shown as Content, escaped."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from vmconsole.backends.removal import RemovalPlan
from vmconsole.text import visible, visible_lines
from vmconsole.ui.formatting import size as fmt_size

WITH_DISKS = "deleted with 'Delete with disks'"
KEEP_WARNING = ("This cannot be undone. 'Delete with disks' also deletes the volumes "
                "listed as deleted; 'Keep disks' undefines only, and every volume stays "
                "in its pool.")


def removal_lines(plan: RemovalPlan) -> list[str]:
    """What deleting one guest does, a line each: the undefine (with its snapshots'
    metadata), then each disk, deleted or kept and why."""
    snapshots = (f" with the metadata of {len(plan.snapshots)} snapshot(s): "
                 f"{', '.join(visible(s) for s in plan.snapshots)}" if plan.snapshots else "")
    lines = [f"undefine {visible(plan.name)}{snapshots}"]
    for disk in plan.disks:
        size = f", {fmt_size(disk.size)}" if disk.size else ""
        what = WITH_DISKS if disk.removable else f"stays: {visible(disk.why_kept)}"
        lines.append(f"  {visible(disk.disk)} {visible(disk.volume)}{size}: {what}")
    return lines


class DeleteScreen(ModalScreen["bool | None"]):
    """Delete with disks (`y`: True), keep the disks (`k`: False), or No (`n`, Escape:
    None) over `lines` (what happens) and `skipped` (guests left alone, and why)."""

    DEFAULT_CSS = """
    DeleteScreen { align: center middle; }
    DeleteScreen > Vertical {
        width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: round $error; border-title-color: $text; background: $surface;
        padding: 0 1;
    }
    DeleteScreen .question { margin-top: 1; }
    DeleteScreen VerticalScroll { height: auto; max-height: 16; margin-top: 1; }
    DeleteScreen .skipped { color: $text-muted; }
    DeleteScreen .warning { color: $warning; margin-top: 1; }
    DeleteScreen Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    DeleteScreen Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("escape,n", "answer(None)", "No", id="delete.no"),
        Binding("y", "answer(True)", "Delete with disks", id="delete.disks"),
        Binding("k", "answer(False)", "Keep disks", id="delete.keep"),
        Binding("left", "app.focus_previous", show=False),
        Binding("right", "app.focus_next", show=False),
    ]
    ANSWERS = {"disks": True, "keep": False, "no": None}

    def __init__(self, title: str, question: str, lines: list[str],
                 skipped: list[str] | None = None) -> None:
        super().__init__()
        self.title_text, self.question = title, question
        self.lines, self.skipped = lines, skipped or []

    def compose(self) -> ComposeResult:
        with Vertical() as frame:
            frame.border_title = Content(visible_lines(self.title_text))
            yield Static(Content(visible_lines(self.question)), classes="question")
            with VerticalScroll():
                yield Static(Content(visible_lines("\n".join(self.lines))), classes="target")
                if self.skipped:
                    yield Static(Content(visible_lines("\n".join(self.skipped))),
                                 classes="skipped")
            yield Static(Content(KEEP_WARNING), classes="warning")
            with Horizontal():
                yield Button("Delete with disks (y)", id="disks", variant="error",
                             compact=True)
                yield Button("Keep disks (k)", id="keep", variant="warning", compact=True)
                yield Button("No (n)", id="no", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self.ANSWERS[event.button.id or "no"])

    def action_answer(self, remove_storage: bool | None) -> None:
        self.dismiss(remove_storage)
