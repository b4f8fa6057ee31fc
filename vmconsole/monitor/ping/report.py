"""Outages and statistics in words, the same for the CLI and the console's panel."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the probing stack is loaded only once something is probed
    from vmconsole.monitor.ping.detector import Outage, RttStats
    from vmconsole.monitor.ping.measurement import PingSnapshot


def format_duration(seconds: float) -> str:
    """187 ms, 2.35 s, 2 min 05 s: the unit a person would use for a downtime."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes:.0f} min {rest:02.0f} s"


def format_clock(at: float) -> str:
    """An epoch time as local time of day with milliseconds: 12:01:02.345."""
    whole = int(at)
    return time.strftime("%H:%M:%S", time.localtime(whole)) + f".{int((at - whole) * 1000):03d}"


def probes(n: int) -> str:
    return f"{n} probe{'' if n == 1 else 's'} lost"


def downtime_text(outage: Outage) -> str:
    """"187 ms", or "at least 2.35 s" when the gap began before the first reply or has
    not ended yet."""
    amount = format_duration(outage.downtime)
    return amount if outage.exact else f"at least {amount}"


def unseen_start_text(outage: Outage) -> str:
    """What is known of a gap that began before pinging did. Counted from the failure
    that caused it (`Outage.since`), its length from that event: "down since power off:
    no reply in 1 min 05 s", once over "down since power off: first reply after 2 min
    33 s". Else not its length, only how long after the first probe it lasted: "down
    since pinging began: no reply in 5.64 s", once over "down when pinging began: first
    reply after 5.64 s". A figure on its own ("downtime at least 5.64 s" of an outage
    that had lasted 100 s when `w` was pressed) was read as the outage's length: a
    failover's time."""
    amount = format_duration(outage.downtime)
    if outage.since:
        return f"down since {outage.since}: " + (
            f"no reply in {amount}" if outage.ongoing else f"first reply after {amount}")
    if outage.ongoing:
        return f"down since pinging began: no reply in {amount}"
    return f"down when pinging began: first reply after {amount}"


def count_note(outages: list[Outage]) -> str:
    """" (the first counted from power off)" or " (the first began before pinging
    did)" after a count of outages whose total downtime takes that one's figure (from
    its failure, or a lower bound); else ""."""
    if not outages or outages[0].start_exact:
        return ""
    if outages[0].since:
        return f" (the first counted from {outages[0].since})"
    return " (the first began before pinging did)"


def downtime_words(outage: Outage) -> str:
    """"downtime 187 ms", "downtime at least 2.35 s" (not over yet), or for a gap that
    began before pinging did `unseen_start_text`."""
    if not outage.start_exact:
        return unseen_start_text(outage)
    return f"downtime {downtime_text(outage)}"


def outage_summary(outage: Outage) -> str:
    """The panel's line: "downtime 187 ms, 12 probes lost"; ", still down" after a gap
    not over yet, unless its words say so."""
    still = ", still down" if outage.ongoing and outage.start_exact else ""
    return f"{downtime_words(outage)}, {probes(outage.lost)}{still}"


def outage_line(outage: Outage) -> str:
    """The CLI's line: "outage: 187 ms, 12 probes lost, 12:01:02.345 -> 12:01:02.532"
    (ASCII, as every word of the CLI's own: README, "Plain terminals"); a gap that
    began before pinging did says so (`unseen_start_text`) where the figure would be,
    and starts at the first probe."""
    end = "still down" if outage.end is None else format_clock(outage.end)
    length = downtime_text(outage) if outage.start_exact else unseen_start_text(outage)
    return (f"outage: {length}, {probes(outage.lost)}, "
            f"{format_clock(outage.start)} -> {end}")


def rtt_text(rtt: RttStats) -> str:
    if not rtt.count:
        return "rtt: no replies"
    ms = [v * 1000 for v in (rtt.min, rtt.avg, rtt.max, rtt.mdev)]
    return "rtt min/avg/max/mdev = {:.3f}/{:.3f}/{:.3f}/{:.3f} ms".format(*ms)


def sim_resolution(interval: float, scale: float) -> str:
    """How finely a simulated guest is probed at the clock's speed SCALE (0: paused):
    one probe per INTERVAL seconds of wall time while simulated time passes
    (`probers.SimEngine`), so a probe stands for INTERVAL x SCALE simulated seconds and
    a downtime reads up to two of them long. "60x: a probe per 600 ms" (of simulated
    time), "paused: no probe"."""
    if scale <= 0:
        return "paused: no probe"
    return f"{scale:g}x: a probe per {format_duration(interval * scale)}"


def counts_text(snap: PingSnapshot) -> str:
    return (f"{snap.sent} sent, {snap.received} received, "
            f"{snap.loss * 100:.1f}% loss")


def all_outages(snap: PingSnapshot) -> list[Outage]:
    return list(snap.outages) + ([snap.ongoing] if snap.ongoing else [])


def quiet_text(snap: PingSnapshot) -> str:
    """What a measurement with no outage found: "none", or for a target that never
    answered (its probes all lost, but fewer in a row than `--min-lost` counts as an
    outage) the words of a gap that began before pinging did, as the panel says it:
    "never answered (down since pinging began: no reply in 240 ms, 5 probes lost)"."""
    if snap.received or not snap.samples:
        return "none"
    from vmconsole.monitor.ping.detector import Outage  # with the probing stack

    first, last = snap.samples[0], snap.samples[-1]
    gap = Outage(first.sent, None, snap.lost, last.sent, start_exact=False)
    return f"never answered ({unseen_start_text(gap)}, {probes(gap.lost)})"


def summary_lines(snap: PingSnapshot) -> list[str]:
    """The closing summary, like ping's: counts, RTT, then every outage."""
    outages = all_outages(snap)
    lines = [f"--- {snap.target.label} ping statistics ---",
             f"{counts_text(snap)}, time {format_duration(snap.now - snap.started)}",
             rtt_text(snap.rtt)]
    if not outages:
        lines.append(f"outages: {quiet_text(snap)}")
        return lines
    total = sum(o.downtime for o in outages)
    lines.append(f"outages: {len(outages)}{count_note(outages)}, downtime "
                 f"{format_duration(total)} in all")
    lines.extend(f"  {outage_line(o)}" for o in outages)
    return lines
