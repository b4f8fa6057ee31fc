"""The hardware form: a guest's vCPUs, memory, disk sizes and NIC links.

Each field says when the guest takes a new value (now, or at its next start) as it is
typed. Submit checks every field first (units, the node's limits, a disk only grows:
`backends.hardware.problems`, the same rule the backend applies), asks before what
cannot be undone (a bigger disk) or cuts a running guest off its network (a link
down), then sends the changes one by one, each its own audited task. A refusal stops
there and is shown once, next to its field, in the backend's words (above the buttons:
what was done and which change was refused); what went through before it stays done,
and the form then starts from it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from fractions import Fraction

from textual import on
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Input, Static

from vmconsole.backends.base import Task
from vmconsole.backends.hardware import (
    DiskInfo,
    GiB,
    GuestHardware,
    HardwareChange,
    MiB,
    NicInfo,
    Takes,
    gib,
    problems,
)
from vmconsole.text import visible, visible_lines
from vmconsole.ui.modals import validate
from vmconsole.ui.modals.confirm import ConfirmScreen
from vmconsole.ui.modals.form import FormCheckbox, FormScreen
from vmconsole.ui.operations import Outcome
from vmconsole.ui.symbols import UNICODE, Symbols
from vmconsole.ui.widgets.plain_input import PlainInput

# ASCII digits only: "\d" and str.isdigit() take U+FF14 (a full-width 4) and "²" (int() refuses).
_AMOUNT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")
_MEMORY_UNITS = {"": MiB, "m": MiB, "mb": MiB, "mib": MiB, "g": GiB, "gb": GiB, "gib": GiB}
_DISK_UNITS = {"": GiB, "g": GiB, "gb": GiB, "gib": GiB, "t": 1024 * GiB, "tb": 1024 * GiB,
               "tib": 1024 * GiB}


# QEMU keeps an image's length in an int64_t (BDRV_MAX_LENGTH, block_int-common.h): no
# disk of any backend is longer, whatever storage holds it.
DISK_MAX = 2**63 - 1


def parse_memory(text: str) -> int | str:
    """Memory typed as "2048", "2048 MiB", "2 GiB", "1.5G": bytes, or why not.

    A bare number is MiB, as Proxmox's `memory` option and the web UI read it.
    """
    return _parse(text, _MEMORY_UNITS, "MiB or GiB, e.g. 2048 MiB or 2 GiB")


def parse_disk(text: str) -> int | str:
    """A disk size typed as "12", "12 GiB", "1.5 TiB": bytes (whole MiB), or why not.
    A bare number is GiB; a size beyond QEMU's largest image (`DISK_MAX`) is refused as
    too big, never rounded."""
    size = _parse(text, _DISK_UNITS, "GiB, e.g. 32 or 32 GiB")
    if isinstance(size, int) and size > DISK_MAX:
        return "too big: a disk holds less than 8 EiB (8589934592 GiB, QEMU's limit)"
    return size


def _parse(text: str, units: dict[str, int], hint: str) -> int | str:
    """Exact, in bytes: a float would round 99999999999999999999 GiB, and the refusal
    would then quote a size nobody typed."""
    match = _AMOUNT.match(text)
    if match is None or match.group(2).lower() not in units:
        return f"a size in {hint}"
    number = match.group(1)
    if len(number.partition(".")[0].lstrip("0")) > _MOST_DIGITS:
        return DISK_MAX + 1  # past every limit, and int() refuses 4,300 digits and more
    size = Fraction(number) * units[match.group(2).lower()]
    if size % MiB:
        return "a whole number of MiB"
    return int(size)


# More whole digits than this make a size past DISK_MAX in every unit: 10**14 MiB is
# above 2**63 bytes.
_MOST_DIGITS = 14


@dataclass(frozen=True, slots=True)
class Part:
    """One change of the form, sent as one operation: its field, and the change."""

    field: str  # "vcpus", "memory", "disk:<key>", "link:<key>"
    change: HardwareChange
    what: str  # for people: "vCPUs 2 → 4 (at the next start)"


Sender = Callable[[Part], Awaitable[Outcome]]


class HardwareForm(FormScreen):
    SUBMIT_LABEL = "Apply"

    def __init__(self, guest: str, hw: GuestHardware, send: Sender,
                 symbols: Symbols = UNICODE) -> None:
        """`guest` as titles name it; `send` runs one part as an operation."""
        super().__init__(f"Hardware of {guest}", self._submit_parts)
        self.guest, self.hw, self._send_part = guest, hw, send
        self.arrow = symbols.arrow  # a figure before and after: "vCPUs 2 → 4"
        self.disk_ids = {d.key: f"disk-{i}" for i, d in enumerate(hw.disks)}
        self.nic_ids = {n.key: f"link-{i}" for i, n in enumerate(hw.nics)}
        self.FIELD_FOR = {**{f"disk:{k}": v for k, v in self.disk_ids.items()},
                          **{f"link:{k}": v for k, v in self.nic_ids.items()}}
        self._initial: dict[str, str] = {}
        self.done: list[Task] = []  # the tasks started, oldest first

    # --- building -----------------------------------------------------------------------

    def fields(self) -> ComposeResult:
        hw = self.hw
        yield from self.row("vCPUs", self._input("vcpus", str(hw.vcpus)), "vcpus",
                            self._vcpus_note(hw.vcpus))
        yield from self.row("Memory", self._input("memory", f"{hw.memory // MiB} MiB"),
                            "memory", self._memory_note(hw.memory))
        for disk in hw.disks:
            ident = self.disk_ids[disk.key]
            yield from self.row(f"Disk {visible(disk.key, 10)}",
                                self._input(ident, f"{gib(disk.size)} GiB"), ident,
                                self._disk_note(disk))
        for nic in hw.nics:
            ident = self.nic_ids[nic.key]
            box = FormCheckbox("link up", nic.link_up, id=ident, compact=True)
            # A short key (Proxmox's net0) names the row; a MAC (libvirt's) goes in the note.
            label = f"NIC {visible(nic.key)}" if len(nic.key) <= 11 else "NIC"
            yield from self.row(label, box, ident, self._nic_note(nic))
        if hw.pending:
            yield Static(Content(visible_lines("Pending until the next start: "
                                               + ", ".join(hw.pending))),
                         classes="note", id="pending")
        yield Static("", classes="field-error", id="error-changes")

    def _input(self, ident: str, value: str) -> Input:
        self._initial[ident] = value
        return PlainInput(value, id=ident, compact=True)

    def _takes(self, takes: Takes) -> str:
        if takes is Takes.NOW:
            return "takes effect now" if self.hw.running else "the guest is stopped: " \
                "used from its next start"
        # The reason quotes the backend's config (Proxmox's hotplug option): data.
        why = f": {visible(self.hw.why_not_live, None)}" if self.hw.why_not_live else ""
        return f"the running guest takes it at its next start{why}"

    def _vcpus_note(self, count: int) -> str:
        return (f"1 to {self.hw.host_cpus} (its node's CPUs); "
                f"{self._takes(self.hw.vcpus_takes(count))}")

    def _memory_note(self, size: int) -> str:
        return (f"MiB or GiB, up to {self.hw.host_memory // MiB} MiB; "
                f"{self._takes(self.hw.memory_takes(size))}")

    def _disk_note(self, disk: DiskInfo) -> str:
        return f"GiB; {visible(disk.volume, 60)}; grows only, cannot be undone"

    def _nic_note(self, nic: NicInfo) -> str:
        when = "" if self.hw.link_takes() is Takes.NOW else \
            "; the running guest takes it at its next start"
        key = f"{visible(nic.key, 40)}: " if len(nic.key) > 11 else ""
        return f"{key}{visible(nic.detail, 60)}{when}"

    @on(Input.Changed, "#vcpus")
    def _vcpus_changed(self, event: Input.Changed) -> None:
        count = validate.whole(event.value, 1)
        if isinstance(count, int):
            self.query_one("#note-vcpus", Static).update(self._vcpus_note(count))

    @on(Input.Changed, "#memory")
    def _memory_changed(self, event: Input.Changed) -> None:
        size = parse_memory(event.value)
        if isinstance(size, int):
            self.query_one("#note-memory", Static).update(self._memory_note(size))

    # --- collecting ---------------------------------------------------------------------

    def collect(self) -> tuple[list[Part], dict[str, str]]:
        hw, errors = self.hw, {}
        vcpus = memory = None
        vcpus_text = self._value("vcpus")
        if vcpus_text != self._initial["vcpus"]:
            count = validate.whole(vcpus_text)  # the range is the backend's check
            if isinstance(count, str):
                errors["vcpus"] = count
            elif count != hw.vcpus:
                vcpus = count
        memory_text = self._value("memory")
        if memory_text != self._initial["memory"]:
            parsed = parse_memory(memory_text)
            if isinstance(parsed, str):
                errors["memory"] = parsed
            elif parsed != hw.memory:
                memory = parsed
        disks: dict[str, int] = {}
        for disk in hw.disks:
            ident = self.disk_ids[disk.key]
            text = self._value(ident)
            if text != self._initial[ident]:
                size = parse_disk(text)
                if isinstance(size, str):
                    errors[f"disk:{disk.key}"] = size
                elif size != disk.size:
                    disks[disk.key] = size
        links = {nic.key: up for nic in hw.nics
                 if (up := self.query_one(f"#{self.nic_ids[nic.key]}", FormCheckbox).value)
                 != nic.link_up}
        change = HardwareChange(vcpus, memory, disks, links)
        errors.update(problems(hw, change))
        if not errors and change.empty:
            errors["changes"] = "nothing to apply: change a figure or a link first"
        return self._parts(change), errors

    def _value(self, ident: str) -> str:
        return self.query_one(f"#{ident}", Input).value

    def _parts(self, change: HardwareChange) -> list[Part]:
        hw, parts = self.hw, []
        if change.vcpus is not None:
            parts.append(Part("vcpus", HardwareChange(vcpus=change.vcpus),
                              f"vCPUs {hw.vcpus} {self.arrow} {change.vcpus} "
                              f"({hw.vcpus_takes(change.vcpus)})"))
        if change.memory is not None:
            parts.append(Part("memory", HardwareChange(memory=change.memory),
                              f"memory {hw.memory // MiB} {self.arrow} {change.memory // MiB} MiB "
                              f"({hw.memory_takes(change.memory)})"))
        for key, size in change.disks.items():
            disk = hw.disk(key)
            old = gib(disk.size) if disk else "?"
            parts.append(Part(f"disk:{key}", HardwareChange(disks={key: size}),
                              f"disk {key} {old} {self.arrow} {gib(size)} GiB"))
        for key, up in change.links.items():
            parts.append(Part(f"link:{key}", HardwareChange(links={key: up}),
                              f"{key} link {'up' if up else 'down'} ({hw.link_takes()})"))
        return parts

    # --- sending ------------------------------------------------------------------------

    async def _submit_parts(self, parts: list[Part]) -> Outcome:
        """Ask where it cannot be undone or cuts the guest off, then send each part."""
        grown = [p.what for p in parts if p.field.startswith("disk:")]
        cut = [p.what for p in parts if p.field.startswith("link:")
               and p.change.links and not next(iter(p.change.links.values()))
               and self.hw.running]
        if grown or cut:
            warning = " ".join(
                (["A disk cannot shrink again: the change cannot be undone."] if grown else [])
                + (["With its link down the guest is off that network until it is set up "
                    "again."] if cut else []))
            question = "Apply " + "; ".join(p.what for p in parts) + f" to {self.guest}?"
            if not await self.app.push_screen_wait(ConfirmScreen(
                    self.form_title, question, warning, "Apply")):
                return Outcome(message="nothing applied")
        for part in parts:
            outcome = await self._send_part(part)
            if not outcome.ok:
                made = "; ".join(p.what for p in parts[:parts.index(part)])
                done = f"done: {made}. " if made else ""
                fields = outcome.fields or {part.field: outcome.message}
                return Outcome(message=f"{done}{part.what}: refused: {outcome.message}",
                               fields=fields)
            assert outcome.task is not None
            self.done.append(outcome.task)
            self._made(part)
        return Outcome(task=self.done[-1])

    def _made(self, part: Part) -> None:
        """The form's starting point moves to what was done, so a second Apply after a
        refusal sends only what is left."""
        change = part.change
        if change.vcpus is not None:
            self.hw = replace(self.hw, vcpus=change.vcpus)
            self._initial["vcpus"] = self._value("vcpus")
        if change.memory is not None:
            self.hw = replace(self.hw, memory=change.memory)
            self._initial["memory"] = self._value("memory")
        for key, size in change.disks.items():
            self.hw = replace(self.hw, disks=tuple(replace(d, size=size) if d.key == key
                                                   else d for d in self.hw.disks))
            self._initial[self.disk_ids[key]] = self._value(self.disk_ids[key])
        for key, up in change.links.items():
            self.hw = replace(self.hw, nics=tuple(replace(n, link_up=up) if n.key == key
                                                  else n for n in self.hw.nics))
