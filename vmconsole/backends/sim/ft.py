"""Fault tolerance as the course teaches it (VMware FT; Remus on Xen): a primary VM and
a shadow copy on another node, kept in step by continuous checkpointing.

Every checkpoint interval (25 ms) the primary pauses briefly, its dirtied pages and
device state go over the FT link to the secondary, and its network output is released
only once the secondary has them. When the primary's node dies or is cut off, the
secondary notices the missing checkpoints (three intervals) and goes live with the
in-flight state: no reboot, an outage of about 100 ms, where HA needs minutes. Then a new
secondary is copied to another node, and the VM is protected again.

The limits the course lists, enforced with their reasons: a dedicated low-latency
10 Gbit link (the lab's cluster network is 1 Gbit); at most 4 FT VMs and 8 FT vCPUs per
host (primaries and secondaries count); the VM is not an HA resource (the simulator keeps
the two mechanisms apart). The price is shown: the primary's slowdown and the link load.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from vmconsole.backends.base import BackendError, Conflict, InvalidInput, NotSupported
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.guards import ensure_quorate, label
from vmconsole.backends.sim.state import MiB, SimGuest
from vmconsole.model import FaultTolerance, GuestKind

if TYPE_CHECKING:  # the FT form's figures: loaded when the form asks (`limits`)
    from vmconsole.backends.ha_config import FTLimits

CHECKPOINT = 0.025  # seconds between checkpoints
DETECT = 3 * CHECKPOINT + 0.03  # missed checkpoints, then the secondary goes live
FT_LINK_GBIT = 10.0  # what FT needs
FT_LINK_SPEED = 1150 * MiB  # bytes/s on a 10 Gbit link, after protocol overhead
MAX_FT_VMS = 4  # per host, primaries and secondaries
MAX_FT_VCPUS = 8  # per host


@dataclass(slots=True)
class FTPair:
    """A fault-tolerant VM and the node holding its secondary (shadow) copy."""

    guest: str
    secondary: str | None  # the node holding the shadow copy (None: re-protecting)


def dirty_rate(sim: Sim, guest: SimGuest) -> float:
    """Bytes/s the VM dirties (the same model as live migration's pre-copy)."""
    return (4 + 120 * sim.load.profile(guest.load_index).cpu_mean) * MiB


def cost(sim: Sim, guest: SimGuest) -> tuple[float, float]:
    """(the primary's slowdown in percent, the FT link's load in percent)."""
    per_checkpoint = dirty_rate(sim, guest) * CHECKPOINT
    pause = per_checkpoint / FT_LINK_SPEED + 0.0005  # copy the dirty pages, then resume
    return 100 * pause / (CHECKPOINT + pause), 100 * dirty_rate(sim, guest) / FT_LINK_SPEED


def _host_load(sim: Sim, node: str, skip: str = "") -> tuple[int, int]:
    """(FT VMs, FT vCPUs) a host carries, primaries and secondaries."""
    vms = vcpus = 0
    for pair in sim.ft.values():
        guest = sim.guests[pair.guest]
        if pair.guest != skip and node in (guest.node, pair.secondary):
            vms += 1
            vcpus += guest.maxcpu
    return vms, vcpus


def _refusal(sim: Sim, guest: SimGuest, node: str) -> str | None:
    vms, vcpus = _host_load(sim, node, guest.id)
    if vms + 1 > MAX_FT_VMS:
        return f"{node} already carries {vms} FT VMs (at most {MAX_FT_VMS} per host)"
    if vcpus + guest.maxcpu > MAX_FT_VCPUS:
        return (f"{node} would carry {vcpus + guest.maxcpu} FT vCPUs (at most "
                f"{MAX_FT_VCPUS} per host)")
    return None


def _reasons(sim: Sim, guest: SimGuest) -> tuple[str, ...]:
    """Every reason FT cannot protect this VM at all, in the course's words (empty: it
    can, apart from the per-host limits). A user fixes them all before FT can protect
    the VM, so none hides another: web1 on the lab's 1 Gbit link is refused for the link
    and for being an HA resource. A container gets its own reason only: the others are
    about a VM."""
    if guest.kind is not GuestKind.VM:
        return ("fault tolerance keeps a VM's CPU and memory state in step; containers "
                "have no such state to checkpoint",)
    reasons = []
    if sim.ft_link_gbit < FT_LINK_GBIT:
        reasons.append(f"fault tolerance needs a dedicated low-latency {FT_LINK_GBIT:.0f} "
                       f"Gbit link for its checkpoints (this cluster has "
                       f"{sim.ft_link_gbit:.0f} Gbit)")
    if guest.ha is not None:
        reasons.append(f"{label(guest)} is an HA resource: take it out of HA first (the "
                       "simulator keeps FT and HA apart)")
    if sim.running_on_own_node(guest) is None:
        reasons.append(f"{label(guest)} is not running: FT protects a running VM")
    return tuple(reasons)


def _cannot(sim: Sim, guest: SimGuest) -> BackendError | None:
    """The error `enable` raises for a VM FT cannot protect, every reason in its message
    ("; " between them): NotSupported when no change to the VM would do (a container,
    the cluster's link), else Conflict. None: FT can protect it, apart from the per-host
    limits."""
    if guest.id in sim.ft:
        return Conflict(f"{label(guest)} is fault tolerant already")
    reasons = _reasons(sim, guest)
    if not reasons:
        return None
    cluster_lacks = guest.kind is not GuestKind.VM or sim.ft_link_gbit < FT_LINK_GBIT
    return (NotSupported if cluster_lacks else Conflict)("; ".join(reasons))


def enable(sim: Sim, guest: SimGuest, secondary: str) -> None:
    """Turn FT on: a shadow copy on `secondary`. Raises NotSupported or InvalidInput
    with the course's reason."""
    if (error := _cannot(sim, guest)) is not None:
        raise error
    ensure_quorate(sim, guest.node)
    problems = {}
    if secondary not in sim.nodes or secondary == guest.node:
        problems["secondary"] = "another node of the cluster"
    else:
        for node in (guest.node, secondary):
            if reason := _refusal(sim, guest, node):
                problems["secondary" if node == secondary else "node"] = reason
    if problems:
        raise InvalidInput("fault tolerance refused: " + "; ".join(problems.values()),
                           problems)
    sim.ft[guest.id] = FTPair(guest.id, secondary)
    slowdown, link = cost(sim, guest)
    sim.narrate(EventKind.FT_ON,
                f"{guest.vmid} ({guest.name}) is fault tolerant: its shadow copy on "
                f"{secondary} follows it every {CHECKPOINT * 1000:.0f} ms; price: the "
                f"primary runs about {slowdown:.0f}% slower, the FT link is {link:.0f}% "
                "busy", guest.node, guest.id)


def disable(sim: Sim, guest: SimGuest) -> None:
    if sim.ft.pop(guest.id, None) is None:
        raise Conflict(f"{label(guest)} is not fault tolerant")
    sim.narrate(EventKind.FT_OFF, f"{guest.vmid}: fault tolerance off, its shadow copy removed",
                guest.node, guest.id)


def membership_changed(sim: Sim, reachable: dict[str, set[str]],
                       quorate: dict[str, bool]) -> None:
    """React to node losses: `reachable[node]` are the nodes it can talk to (itself
    included; empty when it is down). When primary and secondary lose each other, one
    of them wins the shared disk's lock: the primary if it is still up in the quorate
    part of the cluster, else the secondary, which goes live."""
    for pair in list(sim.ft.values()):
        guest = sim.guests.get(pair.guest)
        if guest is None:
            sim.ft.pop(pair.guest, None)
            continue
        primary, secondary = guest.node, pair.secondary
        if secondary is None:
            continue
        if not reachable.get(secondary):
            pair.secondary = None
            sim.narrate(EventKind.FT_UNPROTECTED,
                        f"{guest.vmid}: its secondary's node {secondary} is "
                        "gone; the primary runs on unprotected while a new secondary is "
                        "copied", primary, guest.id)
            _reprotect(sim, pair)
        elif primary not in reachable[secondary]:
            if sim.nodes[primary].alive and quorate.get(primary, False):
                pair.secondary = None
                sim.narrate(EventKind.FT_UNPROTECTED, f"{guest.vmid}: its secondary on {secondary} "
                            "is cut off; the primary keeps the disk lock and runs on while a "
                            "new secondary is copied", primary, guest.id)
                _reprotect(sim, pair)
            else:
                sim.at(sim.now + DETECT, partial(_takeover, sim, pair, primary))


def _takeover(sim: Sim, pair: FTPair, old: str) -> None:
    guest = sim.guests.get(pair.guest)
    secondary = pair.secondary
    if guest is None or secondary is None or guest.node != old or pair.guest not in sim.ft:
        return
    if not sim.nodes[secondary].alive:
        return
    sim.end_instance(guest.id, old)  # an isolated primary lost the disk lock: it stops
    guest.node = secondary
    sim.start_instance(guest.id, secondary, booted=True)
    pair.secondary = None
    sim.narrate(EventKind.FT_TAKEOVER, f"{guest.vmid} ({guest.name}): the secondary on {secondary} "
                f"missed three checkpoints and went live with the in-flight state, "
                f"{DETECT * 1000:.0f} ms after the last one - no reboot; a new secondary is "
                "copied next", secondary, guest.id)
    _reprotect(sim, pair)


def _reprotect(sim: Sim, pair: FTPair) -> None:
    """Copy a new secondary to the least loaded node that may take it."""
    guest = sim.guests[pair.guest]
    choices = [n for n in sim.nodes.values() if n.alive and n.net_up and n.name != guest.node
               and _refusal(sim, guest, n.name) is None]
    if not choices:
        sim.narrate(EventKind.FT_UNPROTECTED, f"{guest.vmid}: no node can hold a new secondary "
                    "(FT limits, or nodes down): it runs unprotected", guest.node, guest.id)
        return
    target = min(choices, key=lambda n: (_host_load(sim, n.name)[0], n.index)).name
    seconds = guest.maxmem / FT_LINK_SPEED

    def done() -> None:
        if pair.guest in sim.ft and pair.secondary is None and sim.nodes[target].alive:
            pair.secondary = target
            sim.narrate(EventKind.FT_ON, f"{guest.vmid} is protected again: new secondary on "
                        f"{target}", guest.node, guest.id)
    sim.after(seconds, done)


def status(sim: Sim, guest: SimGuest) -> list[str]:
    pair = sim.ft.get(guest.id)
    if pair is None:
        return [f"{label(guest)}: not fault tolerant"]
    slowdown, link = cost(sim, guest)
    where = f"secondary on {pair.secondary}" if pair.secondary else "unprotected"
    return [f"{label(guest)}: primary on {guest.node}, {where}",
            f"checkpoint every {CHECKPOINT * 1000:.0f} ms; primary slowdown ~{slowdown:.0f}%; "
            f"FT link {link:.0f}% busy"]


def limits(sim: Sim, guest: SimGuest) -> FTLimits:
    """The limits that decide whether this VM can be fault tolerant and which node may
    hold its shadow, with FT's price for it (`vmconsole.backends.ha_config.FTLimits`)."""
    from vmconsole.backends.ha_config import FTHost, FTLimits  # loaded when used
    pair = sim.ft.get(guest.id)
    hosts = []
    for node in sorted(sim.nodes.values(), key=lambda n: n.index):
        vms, vcpus = _host_load(sim, node.name, guest.id)
        refusal = ("the primary's own node" if node.name == guest.node else
                   "down" if not node.alive else _refusal(sim, guest, node.name))
        hosts.append(FTHost(node.name, vms, vcpus, refusal))
    slowdown, link = cost(sim, guest)
    return FTLimits(guest.id, guest.node, guest.maxcpu,
                    () if pair is not None else _reasons(sim, guest), sim.ft_link_gbit,
                    FT_LINK_GBIT, MAX_FT_VMS, MAX_FT_VCPUS, tuple(hosts), pair is not None,
                    pair.secondary if pair is not None else None, CHECKPOINT * 1000,
                    DETECT * 1000, slowdown, link)


def state(sim: Sim, guest: SimGuest) -> FaultTolerance | None:
    """The VM's FT state as the inventory reports it (None: not fault tolerant)."""
    pair = sim.ft.get(guest.id)
    if pair is None:
        return None
    slowdown, link = cost(sim, guest)
    return FaultTolerance(pair.secondary, CHECKPOINT * 1000, DETECT * 1000, slowdown, link)
