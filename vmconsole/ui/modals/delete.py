"""Ask before deleting guests whose disks may stay (backends.removal.SupportsUndefine:
libvirt): what goes, each disk that stays and why, and the choice of deleting the
guests' own disks too or keeping them. The answer defaults to No, as every confirmation.
Names are data: shown as Content, escaped."""

from __future__ import annotations

from textual.binding import Binding

from vmconsole.backends.removal import RemovalPlan
from vmconsole.text import visible
from vmconsole.ui.formatting import size as fmt_size
from vmconsole.ui.modals.question import NO, Answer, QuestionScreen

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


class DeleteScreen(QuestionScreen["bool | None"]):
    """Delete with disks (`y`: True), keep the disks (`k`: False), or No (`n`, Escape:
    None) over `lines` (what happens) and `skipped` (guests left alone, and why)."""

    DEFAULT_CSS = """
    DeleteScreen > Vertical { width: 100; }
    """
    BINDINGS = [
        Binding("escape,n", "answer(None)", "No", id="delete.no"),
        Binding("y", "answer(True)", "Delete with disks", id="delete.disks"),
        Binding("k", "answer(False)", "Keep disks", id="delete.keep"),
    ]

    def __init__(self, title: str, question: str, lines: list[str],
                 skipped: list[str] | None = None) -> None:
        super().__init__(title, question, KEEP_WARNING, lines, skipped)

    def answers(self) -> list[Answer[bool | None]]:
        return [Answer("disks", "Delete with disks (y)", "error", True),
                Answer("keep", "Keep disks (k)", "warning", False),
                Answer(NO, "No (n)", "primary", None)]
