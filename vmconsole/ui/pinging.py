"""The ping monitor in the console: `w` probes the selected guest, and every migration or
HA failover gets a measurement of its own (several at once), with the cluster's events
marked on its chart and its result in the task's detail. A measurement ends, saying
why, when its guest leaves the cluster or a scenario replaces the cluster.

Simulated guests are probed through the simulator (same clock as its events); others by
ICMP to the IP the backend reports, from the cluster's probe namespace if it has one
(the lab's LAN)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer

from vmconsole.backends.abilities import (
    ClusterEvent,
    SupportsGuestAddresses,
    SupportsProbe,
    SupportsProbeNamespace,
)
from vmconsole.backends.base import NotFound, Task
from vmconsole.backends.event_kinds import EventKind
from vmconsole.model import Guest, GuestStatus, Inventory, probe_order
from vmconsole.monitor.ping.failures import Failure
from vmconsole.monitor.ping.watches import Watch, Watches
from vmconsole.monitor.poller import PollLoop, PollResult
from vmconsole.text import visible
from vmconsole.ui.base_app import SHORT_SCREEN, ConsoleBase
from vmconsole.ui.labels import guest_title
from vmconsole.ui.messages import OperationStarted
from vmconsole.ui.widgets.cluster_tree import TreeRef

if TYPE_CHECKING:  # what to probe is loaded with the first measurement, the panel when shown
    from vmconsole.monitor.ping.targets import ProbeTarget
    from vmconsole.ui.widgets.ping_panel import PingPanel

# Events worth a mark on the chart of the guest they concern (or of guests on their node).
MARKED = frozenset({
    EventKind.MIGRATION_STARTED, EventKind.STOP_AND_COPY, EventKind.MIGRATION_DONE,
    EventKind.MIGRATION_FAILED, EventKind.CONTAINER_STOPPED, EventKind.NODE_LOST,
    EventKind.FENCE, EventKind.FENCED, EventKind.RECOVERY, EventKind.RECOVERED,
    EventKind.STARTED, EventKind.BOOTED, EventKind.POWER_OFF, EventKind.NETWORK_CUT,
    EventKind.PARTITION, EventKind.RESTORED, EventKind.WATCHDOG_RESET})
# Events that start a measurement of their guest when none is running on it.
STARTS_MONITOR = frozenset({EventKind.MIGRATION_STARTED, EventKind.NODE_LOST, EventKind.FENCE,
                            EventKind.POWER_OFF, EventKind.NETWORK_CUT})
# Events that stand for the loss of the guest they concern: a measurement whose first
# probe finds the guest down already counts the outage from one of them marked before
# that probe, not from that probe (`monitor.ping.failures`).
FAILURES = {
    EventKind.POWER_OFF: Failure.DOWNED, EventKind.NETWORK_CUT: Failure.DOWNED,
    EventKind.WATCHDOG_RESET: Failure.DOWNED, EventKind.CONTAINER_STOPPED: Failure.DOWNED,
    EventKind.NODE_LOST: Failure.LOST, EventKind.FENCE: Failure.LOST}
# Events that end the migration or failover a measurement measures: the guest's next
# one gets a measurement of its own (`Watch.serves`).
EPISODE_ENDS = {
    "migration": frozenset({EventKind.MIGRATION_DONE, EventKind.MIGRATION_FAILED}),
    "failover": frozenset({EventKind.RECOVERED, EventKind.STARTED})}
# How long an automatically started measurement runs (simulated failovers take minutes).
AUTO_DURATION = 900.0
# At most this many automatic measurements at once: a bulk migration of 200 guests
# started 200 of 15 minutes each at 10 ms, which took the console's memory and CPU
# (the README's figure: 50 targets, 13 % of a core). `w` still measures any guest.
MAX_AUTO = 8
# The selected guest's addresses are asked for once the cursor has rested this long,
# and for one guest at most once in ADDRESS_ASK_AGAIN_S (the background sweep does
# the rest: backends/addresses.py).
ADDRESS_ASK_DELAY_S = 0.5
ADDRESS_ASK_AGAIN_S = 15.0


def probe_targets(loop: PollLoop, guest: Guest, only: str | None = None
                  ) -> list[ProbeTarget]:
    """How to probe a guest of this cluster: the simulator's own prober, else ICMP to
    each of its IPv4 addresses in `probe_order` (the first that answers is probed), or
    to `only`. ProbeError when there is no way: a template (it never runs: its probes
    would all be lost, a false outage), or a guest with no address, saying why."""
    from vmconsole.monitor.ping.targets import ProbeError, ProbeTarget

    backend = loop.backend
    if guest.template:
        raise ProbeError(f"{guest.name}: a template does not run: nothing to ping")
    if isinstance(backend, SupportsProbe):
        return [ProbeTarget.sim(backend, guest.id, guest.name)]
    usable = probe_order(guest.addresses)
    candidates = [only] if only else [a.ip for a in usable if ":" not in a.ip]
    if not candidates:
        why = ("only IPv6 addresses, and ICMP probes are IPv4 only (W probes "
               "[ADDRESS]:PORT by TCP)") if usable else (
            f"no IP address known ({guest.address_note or 'none reported'}): nothing to "
            "ping (W pings an address you type)")
        raise ProbeError(f"{guest.name}: {why}")
    netns = backend.probe_netns if isinstance(backend, SupportsProbeNamespace) else None
    return [ProbeTarget.icmp(ip, netns=netns, name=f"{guest.name} {ip}") for ip in candidates]


def guests_concerned(event: ClusterEvent, inventory: Inventory | None) -> list[str]:
    """The guest an event is about, or for a node's event its HA guests."""
    if event.guest:
        return [event.guest]
    if event.node and inventory is not None:
        return [g.id for g in inventory.guests_on(event.node) if g.ha is not None]
    return []


def measured_why(kind: EventKind) -> str:
    """What a measurement started by an event measures: "migration" or "failover"."""
    return "migration" if kind is EventKind.MIGRATION_STARTED else "failover"


def is_migration(task: Task) -> bool:
    """A migration task, whatever the backend calls it (migrate, qmigrate, vzmigrate)."""
    return "migrat" in task.operation


class PingFeatures(ConsoleBase):
    BINDINGS = [
        Binding("w", "ping", "Ping", id="app.ping"),
        Binding("W", "ping_address", "Ping an address", show=False, id="app.ping_address"),
        Binding("i", "ping_pick", "Ping another address of the guest", show=False,
                id="app.ping_pick"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._addresses_asked: dict[tuple[str, str], float] = {}  # -> monotonic seconds
        self._address_timer: Timer | None = None
        # Every measurement, running or ended, kept by the app: each poll reads them, and
        # the panel that shows them is made when first shown (`ping_panel`).
        self.ping_watches = Watches()

    def ping_panel(self) -> PingPanel:
        """The ping panel, made (hidden) with its children when first asked for: most
        sessions never show it, and the first screen needs none of it (issue 12)."""
        from vmconsole.ui.widgets.ping_panel import PingPanel  # loaded when first shown

        panel = self.query_one_optional("#ping", PingPanel)
        if panel is None:
            panel = PingPanel(self.ping_watches, ascii=self.symbols.ascii, id="ping")
            self.query_one("#right").mount(panel, after="#detail")
            panel.build_view()  # queryable at once, as `edit_address` needs
        return panel

    def _made_ping_panel(self) -> PingPanel | None:
        """The ping panel if it was ever shown, else None."""
        return self.ping_panel() if self.query_one_optional("#ping") is not None else None

    def _selected_guest(self) -> tuple[TreeRef, Guest] | None:
        """The guest under the tree's cursor as of its cluster's last poll, with its ref."""
        ref = self.selected
        result = self.latest.get(ref.cluster) if ref else None
        inventory = result.inventory if result else None
        guest = inventory.guest(ref.object_id) if ref and inventory else None
        return (ref, guest) if ref is not None and guest is not None else None

    # --- the selected guest's addresses -------------------------------------------------

    def addresses_on_select(self) -> None:
        """The selection moved: ask the backend for the selected guest's addresses once
        the cursor rests (`ADDRESS_ASK_DELAY_S`), so holding `j` asks nothing."""
        if self._address_timer is not None:
            self._address_timer.stop()
        self._address_timer = self.set_timer(ADDRESS_ASK_DELAY_S, self._ask_addresses)

    def _ask_addresses(self) -> None:
        selected = self._selected_guest()
        if selected is None:
            return
        ref, guest = selected
        loop = self.loops.get(ref.cluster)
        if loop is None or guest.template or \
                not isinstance(loop.backend, SupportsGuestAddresses):
            return
        key, now = (ref.cluster, guest.id), time.monotonic()
        if now - self._addresses_asked.get(key, -ADDRESS_ASK_AGAIN_S) < ADDRESS_ASK_AGAIN_S:
            return
        self._addresses_asked[key] = now
        self._read_addresses(loop, guest.id)

    @work(thread=True, group="addresses", exit_on_error=False, name="Guest addresses")
    def _read_addresses(self, loop: PollLoop, guest_id: str) -> None:
        backend = loop.backend
        assert isinstance(backend, SupportsGuestAddresses)
        try:
            backend.guest_addresses(guest_id)
        except NotFound:
            return  # gone since the last poll: the next poll says so
        loop.refresh_soon()  # the next poll carries the reading

    def action_ping_pick(self) -> None:
        """Choose which address of the selected guest to ping (its running measurement,
        if any, ends for the new one)."""
        selected = self._selected_guest()
        if selected is None:
            self.notify("Select a guest to choose which of its addresses to ping",
                        title="Ping", severity="warning")
            return
        ref, guest = selected
        if isinstance(self.loops[ref.cluster].backend, SupportsProbe):
            self.notify(f"{guest.name}: a simulated guest is probed through the simulator",
                        title="Ping")
            return
        if not guest.addresses:
            self.notify(f"{guest.name}: no IP address known "
                        f"({guest.address_note or 'none reported'})",
                        title="Ping", severity="warning")
            return
        running = self.ping_watches.running_on(ref.cluster, guest.id)
        measurement = running.measurement if running is not None else None
        current = measurement.target.address if measurement is not None else None

        def chosen(ip: str | None) -> None:
            if ip is None or ip == current:
                return
            if running is not None:
                running.end(f"another address was chosen: {ip}")
            self._start_ping(ref.cluster, guest, why="ping", only=ip)

        from vmconsole.ui.modals.address_picker import AddressPicker  # loaded when used

        self.push_screen(AddressPicker(guest_title(guest), guest.addresses, current), chosen)

    def action_ping(self) -> None:
        """Measure the selected guest (or chart its running measurement). On the guest
        already charted, hide the panel. A stopped guest is not measured, and a row that
        is no guest (a node, a storage, the cluster) has nothing to measure: the user is
        told why, and of `W` for any address."""
        selected = self._selected_guest()
        if selected is None:
            self.notify("w measures the guest selected in the tree: select a guest (W "
                        "pings any address)", title="Ping", severity="warning")
            return
        ref, guest = selected
        running = self.ping_watches.running_on(ref.cluster, guest.id)
        panel = self._made_ping_panel()
        if running is None and guest.status is GuestStatus.STOPPED and not guest.template:
            # Its address answers nothing: a measurement would report every probe lost
            # as an outage ("down since pinging began: no reply in 4.83 s") of a guest
            # that is off. (A failover's automatic measurement is not this path: there
            # the outage is the point. A template has its own reason, from probe_targets.)
            self.notify(f"{visible(guest.name)} is stopped: no outage to measure (start it "
                        "first, or W pings any address)", title="Ping", severity="warning")
        elif running is None:
            self._start_ping(ref.cluster, guest, why="ping")
        elif panel is not None and running is panel.selected and panel.has_class("visible"):
            self.show_ping(False)  # it goes on measuring; `w` shows it again
        else:
            self.show_ping(True)
            self.ping_panel().select(running)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Ping an address", "Probe any address: ADDRESS by ICMP, "
                            "ADDRESS:PORT by TCP", self.action_ping_address)
        yield SystemCommand("Ping another address of the guest", "Choose which of the "
                            "selected guest's addresses to ping (i)", self.action_ping_pick)

    def show_ping(self, show: bool) -> None:
        """Show or hide the ping panel; its column knows, for the short-screen layout
        (app.tcss: there the panel takes the detail pane's place). The focus in what
        hides goes to the tree."""
        panel = self.ping_panel() if show else self._made_ping_panel()
        if panel is None:
            return  # never shown: nothing to hide
        panel.set_class(show, "visible")
        if panel.parent is not None:
            panel.parent.set_class(show, "pinging")
        hidden = ([self.query_one("#detail")] if self.size.height < SHORT_SCREEN else []
                  ) if show else [panel]
        self.focus_tree_from(hidden)

    def action_ping_address(self) -> None:
        """Show the panel with the focus in its address box."""
        self.show_ping(True)
        self.ping_panel().edit_address()

    def _start_ping(self, cluster: str, guest: Guest, duration: float | None = None,
                    why: str = "ping", task: str | None = None, only: str | None = None
                    ) -> Watch | None:
        from vmconsole.monitor.ping.targets import ProbeError

        try:
            target = probe_targets(self.loops[cluster], guest, only)
        except ProbeError as exc:
            self.notify(str(exc), title="Ping", severity="warning")
            return None
        self.show_ping(True)
        return self.ping_panel().start(target, duration=duration, cluster=cluster,
                                       guest=guest.id, why=why, task=task)

    def ping_on_poll(self, result: PollResult) -> None:
        """Start a measurement for each migration or failover, mark its events, link it
        to its task, and end the measurements of guests that are gone."""
        if self.query_one_optional("#right") is None:
            return  # the console is closing
        watches = self.ping_watches
        inventory = result.inventory
        ended: list[tuple[Watch, str]] = []
        unmeasured = 0
        for event in result.events:
            if event.kind == EventKind.SCENARIO:  # the simulator replaced the whole cluster
                ended += [(w, w.ended) for w in watches.end_cluster(
                    result.cluster, f"cluster {result.cluster} was replaced ({event.message})")]
                continue
            concerned = guests_concerned(event, inventory)
            if not concerned or event.kind not in MARKED:
                continue
            starts = event.kind in STARTS_MONITOR and inventory is not None
            why = measured_why(event.kind)
            for guest_id in concerned:
                watch = watches.running_on(result.cluster, guest_id)
                if starts and watch is not None:
                    watch = self._serving(watch, why, self._on_clock(watch, event.time))
                automatic = sum(w.running and w.why != "ping" for w in watches)
                if watch is None and starts and automatic >= MAX_AUTO:
                    unmeasured += 1
                elif watch is None and starts and inventory is not None:
                    guest = inventory.guest(guest_id)
                    # A stopped guest (an offline migration) answers nothing to measure.
                    if guest is not None and guest.status is not GuestStatus.STOPPED:
                        watch = self._start_ping(result.cluster, guest, AUTO_DURATION, why)
                if watch is not None:
                    watch.mark(event.kind.words, self._on_clock(watch, event.time),
                               FAILURES.get(event.kind))
                    watch.settled |= event.kind in EPISODE_ENDS.get(watch.episode or "", ())
        if unmeasured:
            self.notify(f"{unmeasured} more not measured: at most {MAX_AUTO} automatic "
                        "measurements run at once (w measures a guest)",
                        title="Ping monitor", timeout=6)
        measuring = any(w.running and w.cluster == result.cluster for w in watches)
        if inventory is not None and measuring:  # no set of 10,000 ids for nothing
            present = {g.id for g in inventory.guests}
            ended += [(w, w.ended) for w in watches.end_vanished(result.cluster, present)]
            self._link_tasks(result)
        for watch, why in ended:
            self.notify(visible(f"{watch.label}: {why}", limit=None),
                        title="Ping: measurement ended", severity="warning", timeout=8,
                        markup=False)

    @staticmethod
    def _serving(watch: Watch, why: str, at: float | None = None) -> Watch | None:
        """WATCH if it measures the migration or failover (WHY) starting on its guest;
        else it ends, as of AT (the event's time on its clock), and None: that one gets
        a measurement of its own, with the outages from AT on."""
        if watch.serves(why):
            watch.episode = why
            return watch
        watch.end(f"a {why} began: it has a measurement of its own", at)
        return None

    def _link_tasks(self, result: PollResult) -> None:
        """A measurement learns each migration task of its guest that ran while it
        probed and no other measurement measures: an HA request's task and the migrate
        task that carries it out are both measured, each showing its own outages
        (`task_measurement`)."""
        watches = self.ping_watches
        for task in result.tasks:
            if not is_migration(task):
                continue
            watch = watches.running_on(result.cluster, task.target)
            measurement = watch.measurement if watch is not None else None
            if watch is None or watches.for_task(result.cluster, task.id) is not None:
                continue
            if task.ended is None or (measurement is not None and self._on_clock(
                    watch, task.ended) >= measurement.started):
                watch.tasks.append(task.id)

    @on(OperationStarted)
    def _measure_migration(self, message: OperationStarted) -> None:
        """A migration started here is measured from the moment it is accepted (or by
        the measurement already running on its guest)."""
        task = message.task
        if not is_migration(task):
            return
        watch = self.ping_watches.running_on(message.cluster, task.target)
        if watch is not None:
            watch = self._serving(watch, "migration")
        if watch is not None:
            if task.id not in watch.tasks:
                watch.tasks.append(task.id)
            return
        result = self.latest.get(message.cluster)
        guest = result.inventory.guest(task.target) if result and result.inventory else None
        if guest is not None and guest.status is not GuestStatus.STOPPED:
            self._start_ping(message.cluster, guest, AUTO_DURATION, "migration", task.id)

    def task_measurement(self, cluster: str, task: Task) -> str | None:
        watch = self.ping_watches.for_task(cluster, task.id)
        if watch is None:
            return None
        end = None if task.ended is None else self._on_clock(watch, task.ended)
        return watch.result_text(during=(self._on_clock(watch, task.started), end))

    @staticmethod
    def _on_clock(watch: Watch, at: float) -> float:
        """A backend's time AT (an event's, a task's) on the measurement's clock: the
        simulator's own for simulated guests. Real probes' clock is epoch seconds that
        advance with time.monotonic (`measurement._real_clock`), and backends give
        wall-clock times: AT is as long before the clock's now as before the wall
        clock's. (On time.monotonic(), seconds since boot, such a mark was never
        charted.)"""
        from vmconsole.monitor.ping.targets import ProbeKind

        measurement = watch.measurement
        if measurement is None or measurement.target.kind is ProbeKind.SIM:
            return at
        return measurement.clock() - (time.time() - at)
