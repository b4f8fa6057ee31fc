"""The CRS settings form (datacenter.cfg `crs`): the scheduler that scores nodes for
HA placements and rebalancing, and PVE 9.2's auto-rebalance with its threshold, hold and
margin. Threshold and margin are written as datacenter.cfg writes them (0.3, 0.1: an
imbalance, the coefficient of variation of the nodes' loads, and a fraction of it); a
percent (30%) is read as its fraction. The form refuses a hold outside its range
itself; the other ranges are the backend's check, whose reasons land next to their
fields."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Select

from vmconsole.backends.ha_config import HOLD_ROUNDS_MAX, HOLD_ROUNDS_MIN, CRSView
from vmconsole.ui.modals import validate
from vmconsole.ui.modals.form import FormCheckbox, FormScreen, Submitter
from vmconsole.ui.widgets.plain_input import PlainInput

MODE_HELP = {
    "basic": "basic: count the HA services on each node",
    "static": "static: the memory and CPUs the guests are configured with",
    "dynamic": "dynamic: the memory the guests use now",
}
# A number as written in datacenter.cfg, sign and exponent included (1e308 and -5 are
# numbers: the backend's check names their range). ASCII digits only: float() takes
# full-width ones, and "nan" or "inf".
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$")


@dataclass(frozen=True, slots=True)
class CRSRequest:
    """The arguments of `set_crs`."""

    mode: str
    auto_rebalance: bool
    threshold: float
    hold: int
    margin: float


def _number(text: str, whole: bool) -> tuple[float, str | None]:
    """The typed figure: a whole number of CRM rounds exactly as typed (never clamped)
    and refused outside HOLD_ROUNDS_MIN to HOLD_ROUNDS_MAX with that range, or a number
    as datacenter.cfg has it, where "30%" reads as 0.3 (400 digits reading as inf),
    whose range is the backend's check."""
    if whole:
        number = validate.whole(text, HOLD_ROUNDS_MIN, HOLD_ROUNDS_MAX)
        return (0, number) if isinstance(number, str) else (number, None)
    text = text.strip()
    percent = text.endswith("%")
    text = text.removesuffix("%").strip() if percent else text
    if not _NUMBER.match(text):
        return 0.0, "a number such as 0.3, or a percent (30%)"
    return float(text) / 100 if percent else float(text), None


class CRSForm(FormScreen):
    SUBMIT_LABEL = "Save"

    def __init__(self, current: CRSView, submit: Submitter) -> None:
        super().__init__("CRS settings (cluster resource scheduler)", submit)
        self.current = current

    def fields(self) -> ComposeResult:
        crs = self.current
        yield from self.row("Scheduler", Select(
            [(Text(MODE_HELP.get(m, m)), m) for m in crs.modes], value=crs.mode,
            allow_blank=False, id="mode", compact=True), "mode")
        yield from self.row("Auto-rebalance", FormCheckbox(
            "move HA services when the load stays uneven", crs.auto_rebalance,
            id="auto_rebalance", compact=True), "auto_rebalance")
        yield from self.row("Threshold", PlainInput(f"{crs.threshold:g}", id="threshold",
                                               compact=True), "threshold",
                            "imbalance (coefficient of variation of the node loads, "
                            "0.3 by default) above which the hold counts")
        yield from self.row("Hold", PlainInput(str(crs.hold), id="hold", compact=True), "hold",
                            "CRM rounds (10 s) the imbalance must last")
        yield from self.row("Margin", PlainInput(f"{crs.margin:g}", id="margin", compact=True),
                            "margin", "least lowering of the imbalance worth a migration, "
                            "as a fraction of it (0.1 by default)")

    def collect(self) -> tuple[Any, dict[str, str]]:
        errors: dict[str, str] = {}
        values: dict[str, float] = {}
        for name in ("threshold", "hold", "margin"):
            value, reason = _number(self.query_one(f"#{name}", Input).value, name == "hold")
            if reason:
                errors[name] = reason
            values[name] = value
        if errors:
            return None, errors
        return CRSRequest(str(self.query_one("#mode", Select).value),
                          self.query_one("#auto_rebalance", FormCheckbox).value,
                          values["threshold"], int(values["hold"]), values["margin"]), {}
