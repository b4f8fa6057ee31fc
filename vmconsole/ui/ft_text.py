"""Fault Tolerance in words: the detail pane's rows for a fault-tolerant VM (where its
primary and shadow run, the checkpoints, the price) and the FT form's limits table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from vmconsole.model import FaultTolerance, Guest
from vmconsole.text import visible

if TYPE_CHECKING:  # the FT form's figures, not needed for the detail pane's rows
    from vmconsole.backends.ha_config import FTLimits


def ft_rows(guest: Guest) -> list[tuple[str, str | Text]]:
    """("FT", where the primary and its shadow run), ("FT price", checkpoints and their
    cost); none for a VM that is not fault tolerant."""
    ft = guest.fault_tolerance
    if ft is None:
        return []
    return [("FT", Text(state_text(guest.node, ft))), ("FT price", price_text(ft))]


def state_text(node: str, ft: FaultTolerance) -> str:
    where = (f"shadow on {visible(ft.secondary)}" if ft.secondary is not None else
             "UNPROTECTED: a new shadow is being copied")
    return f"primary on {visible(node)}, {where}"


def price_text(ft: FaultTolerance) -> str:
    return (f"checkpoint every {ft.checkpoint_ms:.0f} ms (takeover "
            f"{ft.takeover_ms:.0f} ms after the last); primary ~{ft.slowdown:.0f}% "
            f"slower, FT link {ft.link_load:.0f}% busy")


def limits_table(limits: FTLimits) -> Table:
    """Each node with the FT VMs and vCPUs it carries against the limits, and whether
    it can hold this VM's shadow (or why not)."""
    table = Table(box=None, expand=True, header_style="bold", pad_edge=False)
    table.add_column("Node", no_wrap=True)
    # "max", not `≤`: the same words in ASCII mode (LANG=C, TERM=linux).
    table.add_column(f"FT VMs (max {limits.max_vms})", no_wrap=True)
    table.add_column(f"FT vCPUs (max {limits.max_vcpus})", no_wrap=True)
    table.add_column("Shadow", ratio=1)
    for host in limits.hosts:
        if limits.secondary == host.node:
            verdict = Text("holds it now", "bold")
        elif host.refusal is None:
            verdict = Text("can hold it")
        else:
            verdict = Text(f"no: {visible(host.refusal)}", "dim")
        table.add_row(Text(visible(host.node)), str(host.vms), str(host.vcpus), verdict)
    return table


def link_text(limits: FTLimits) -> str:
    ok = limits.link_gbit >= limits.needed_gbit
    return (f"FT link: {limits.link_gbit:.0f} Gbit ({'enough' if ok else 'too slow'}: FT "
            f"needs a dedicated low-latency {limits.needed_gbit:.0f} Gbit link)")
