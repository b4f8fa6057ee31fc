"""What a form says above its buttons after a refusal, said once: the refusal's message
without the reasons the form shows elsewhere (under their fields, or on lines of their
own), and for how long: the message goes with the last field it came with."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

# Where a reason quoted in a message stands whole: at its start or after ": ", "; ",
# ". " (Proxmox: "Parameter verification failed. size: ..."), up to the end of its line
# or a ";". Quoted inside a sentence ("vCPUs must be a multiple of 2"), it is part of
# other words and stays.
_START = r"(?:^|(?<=[:;.] ))"
_END = r"(?=$|;)"


@dataclass(frozen=True)
class Summary:
    """The text above a form's buttons: `message` (a refusal's, without what the fields
    say), then `leftover`, a reason per parameter no field shows ("name: reason");
    `about` names the fields (error box names) whose reasons came with the message."""

    message: str = ""
    leftover: tuple[str, ...] = ()
    about: frozenset[str] = field(default_factory=frozenset)

    @property
    def text(self) -> str:
        """The lines shown, "" for none."""
        return "\n".join(([self.message] if self.message else []) + list(self.leftover))

    def without_field(self, name: str) -> Summary:
        """This summary once field `name`'s reason is gone (the user changed the value
        refused): the message goes with the last field it was about; the leftover lines
        are no field's, they stay to the next submit."""
        if name not in self.about:
            return self
        about = self.about - {name}
        return replace(self, about=about, message=self.message if about else "")


def said_once(message: str, reasons: Mapping[str, str], field_for: Mapping[str, str],
              shown: frozenset[str]) -> Summary:
    """The summary of a refusal: `message`, `reasons` (parameter name -> reason, each
    said under its field or else on a line below the message), `field_for` (parameter
    name -> the field that shows its reason, where they differ), `shown` (the fields
    that show one). Every reason is said once: where the message quotes it whole
    (`_START`, `_END`), with or without "name: " before it, it is cut from the message.
    A backend's InvalidInput quotes its reasons ("node-affinity rule refused: nodes: no
    node pve9", "cannot migrate web1 to pve2: node 'pve2' is in maintenance mode"), and
    the hardware form quotes the refusal of a change ("disk scsi0 10 → 95 GiB: refused:
    storage 'san': Insufficient free space"): the form said them twice."""
    leftover = tuple(f"{field_for.get(name, name)}: {reason}" for name, reason in
                     reasons.items() if field_for.get(name, name) not in shown)
    return Summary(_without(message, reasons, field_for), leftover, shown)


def _without(message: str, reasons: Mapping[str, str], field_for: Mapping[str, str]) -> str:
    cut = message
    for name, reason in reasons.items():
        if not reason:
            continue
        names = "|".join(re.escape(n) for n in {name, field_for.get(name, name)})
        cut = re.sub(f"{_START}(?:(?:{names}): )?{re.escape(reason)}{_END}", "", cut,
                     flags=re.MULTILINE)
    if cut == message:
        return message
    # What stood around a cut reason: the ":" that led to it, the "; " between it and
    # the next; the rest stays as it was.
    lines = ("; ".join(part for part in (piece.strip().rstrip(":").rstrip()
                                         for piece in line.split(";")) if part)
             for line in cut.splitlines())
    return "\n".join(line for line in lines if line)
