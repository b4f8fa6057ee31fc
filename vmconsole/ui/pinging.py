"""The ping monitor in the console: `w` probes the selected guest, and a migration or an
HA failover starts it by itself, with the cluster's events marked on the chart.

Simulated guests are probed through the simulator (same clock as its events); others by
ICMP to the IP the backend reports, from the cluster's probe namespace if it has one
(the lab's LAN)."""

from __future__ import annotations

import time

from textual.binding import Binding

from vmconsole.backends.base import ClusterEvent, SupportsProbe, SupportsProbeNamespace
from vmconsole.model import Guest, GuestStatus, Inventory
from vmconsole.monitor.ping import ProbeError, ProbeKind, ProbeTarget
from vmconsole.monitor.poller import PollLoop, PollResult
from vmconsole.ui.base_app import ConsoleBase
from vmconsole.ui.widgets.ping_panel import PingPanel

# Events worth a mark on the chart of the guest they concern (or of guests on their node).
MARKED = {"migration_started", "stop_and_copy", "migration_done", "migration_failed",
          "container_stopped", "node_lost", "fence", "fenced", "recovery", "recovered",
          "started", "booted", "power_off", "network_cut", "partition", "restored",
          "watchdog_reset"}
# Events that start the monitor on their guest when it is not probing anything.
STARTS_MONITOR = {"migration_started", "node_lost", "fence", "power_off", "network_cut"}
# How long an automatically started session runs (simulated failovers take minutes).
AUTO_DURATION = 900.0


def probe_target(loop: PollLoop, guest: Guest) -> ProbeTarget:
    """How to probe a guest of this cluster; ProbeError when there is no way."""
    backend = loop.backend
    if isinstance(backend, SupportsProbe):
        return ProbeTarget.sim(backend, guest.id, guest.name)
    if not guest.ip:
        raise ProbeError(f"{guest.name}: the backend reports no IP address "
                         "(type one into the ping panel)")
    netns = backend.probe_netns if isinstance(backend, SupportsProbeNamespace) else None
    return ProbeTarget.icmp(guest.ip, netns=netns, name=guest.name)


def guests_concerned(event: ClusterEvent, inventory: Inventory | None) -> list[str]:
    """The guest an event is about, or for a node's event its HA guests."""
    if event.guest:
        return [event.guest]
    if event.node and inventory is not None:
        return [g.id for g in inventory.guests_on(event.node) if g.ha is not None]
    return []


class PingFeatures(ConsoleBase):
    BINDINGS = [Binding("w", "ping", "Ping", id="app.ping")]

    _ping_guest: tuple[str, str] | None = None  # (cluster, guest id) being probed

    def action_ping(self) -> None:
        """Probe the selected guest, or show/hide the panel for any address."""
        panel = self.query_one(PingPanel)
        ref = self.selected
        result = self.latest.get(ref.cluster) if ref else None
        guest = result.inventory.guest(ref.object_id) if ref and result and \
            result.inventory else None
        if guest is None or ref is None:
            panel.toggle_class("visible")
            if panel.has_class("visible"):
                panel.query_one("#ping-address").focus()
            return
        self._start_ping(ref.cluster, guest)

    def _start_ping(self, cluster: str, guest: Guest, duration: float | None = None) -> bool:
        panel = self.query_one(PingPanel)
        panel.add_class("visible")
        try:
            target = probe_target(self.loops[cluster], guest)
        except ProbeError as exc:
            self.notify(str(exc), title="Ping", severity="warning")
            return False
        self._ping_guest = (cluster, guest.id)
        panel.start(target, duration=duration)
        return True

    def ping_on_poll(self, result: PollResult) -> None:
        """Start the monitor on a migration or failover; mark the watched guest's events."""
        panel = self.query_one(PingPanel)
        session = panel.session
        idle = session is None or not session.running
        for event in result.events:
            concerned = guests_concerned(event, result.inventory)
            if not concerned or event.kind not in MARKED:
                continue
            if idle and event.kind in STARTS_MONITOR and result.inventory is not None:
                guest = result.inventory.guest(concerned[0])
                # A stopped guest (an offline migration) answers nothing to measure.
                if guest is not None and guest.status is not GuestStatus.STOPPED and \
                        self._start_ping(result.cluster, guest, AUTO_DURATION):
                    idle = False
            if self._ping_guest is not None and self._ping_guest[0] == result.cluster \
                    and self._ping_guest[1] in concerned:
                panel.mark(event.kind.replace("_", " "), self._session_time(event))

    def _session_time(self, event: ClusterEvent) -> float | None:
        """The event's time on the session's clock: the simulator's own for simulated
        guests; monotonic for real probes, whose events carry wall-clock times."""
        session = self.query_one(PingPanel).session
        if session is not None and session.target.kind is ProbeKind.SIM:
            return event.time
        return time.monotonic() - (time.time() - event.time)
