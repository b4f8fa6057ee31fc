"""Table columns fitted to the screen: each column as wide as its widest cell while all
fit, else the narrow ones whole and the wide ones sharing the rest, their cells cut
with "…" ("..." in ASCII mode) so that a cut cell says so (the task log, the HA rules list)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text

from vmconsole.text import ELLIPSIS

LEAST_WIDTH = 4  # "we…": a cut cell still shows its start


def fit_widths(wanted: Sequence[int], room: int, least: int = LEAST_WIDTH) -> list[int]:
    """Widths (cells) for columns that want `wanted` within `room` in all: each
    gets what it wants if everything fits, else the narrow ones keep theirs and the
    wide ones share the rest equally (max-min fairness), none below `least`."""
    widths = list(wanted)
    left = room
    order = sorted(range(len(wanted)), key=lambda i: wanted[i])
    for position, i in enumerate(order):
        share = max(least, left // (len(order) - position))
        widths[i] = min(wanted[i], share)
        left -= widths[i]
    return widths


def cut(text: str, width: int, mark: str = ELLIPSIS) -> Text:
    """`text` (never markup) as a cell at most `width` cells wide, ending with `mark`
    (`Symbols.cut`) when it was cut; the mark alone, cut, when it is the wider."""
    cell = Text(text)
    if cell.cell_len > width:
        cell.truncate(max(0, width - cell_len(mark)))
        cell.append(mark)
        cell.truncate(width)
    return cell
