"""The ping monitor inside the console: `w` on a guest, and the monitor starting by
itself when a migration begins, with the migration's phases marked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual.widgets import Static

from tests.frozen import FrozenConsole
from tests.ui.test_ping_measurements import list_rows, plain
from vmconsole.backends.base import BackendError, InvalidInput, MigrationMode
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim.clock import RealClock
from vmconsole.config import SimCluster
from vmconsole.monitor.ping import PingSnapshot, ProbeKind
from vmconsole.monitor.ping.report import format_clock, format_duration
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef
from vmconsole.ui.widgets.ping_panel import PingPanel


async def test_w_probes_the_selected_guest_through_the_simulator(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        assert not c.app.query(PingPanel)  # made when first shown
        c.app.query_one(ClusterTree).select_ref(TreeRef("lab", "qemu/100"))
        await pilot.press("w")
        await c.app.workers.wait_for_complete()
        await pilot.pause()
        panel = c.app.query_one(PingPanel)
        assert panel.has_class("visible")
        session = panel.measurement
        assert session is not None and session.target.kind is ProbeKind.SIM
        assert session.target.address == "qemu/100"
        deadline = time.monotonic() + 5
        while session.snapshot().received < 5 and time.monotonic() < deadline:
            c.clock.advance(0.05)  # the factory's clock is manual: no time, no probe
            await asyncio.sleep(0.05)
        assert session.snapshot().received >= 5  # web1 runs: the model answers


async def test_a_container_migration_starts_the_monitor_and_its_outage_is_measured():
    # The simulated clock runs at 10x real time, so the ~8 s restart of a container
    # takes under a second here while 10 ms probes still sample it every 100 ms.
    c = FrozenConsole(SimCluster(), clock=RealClock(10.0))
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        c.backend.migrate("lxc/200", "pve1", MigrationMode.RESTART)
        deadline = time.monotonic() + 20
        outages = []
        while time.monotonic() < deadline:
            c.poll()
            await pilot.pause(0.1)
            watch = c.app.ping_watches.running_on("lab", "lxc/200")
            session = watch.measurement if watch is not None else None
            if session is not None:
                outages = [o for o in session.snapshot().outages if o.end is not None]
                if outages:
                    break
        panel = c.app.query_one(PingPanel)
        session = panel.measurement
        assert session is not None and session.target.address == "lxc/200"
        assert panel.has_class("visible")
        assert outages, "the restart migration's outage was not measured"
        downtime = outages[0].end - outages[0].start
        assert 3.0 < downtime < 20.0, downtime
        labels = [m.label for m in session.snapshot().markers]
        assert "migration started" in labels
        session.stop()


async def test_an_offline_migration_of_a_stopped_guest_starts_no_monitor(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        c.backend.migrate("qemu/103", "pve2", MigrationMode.OFFLINE)  # test1 is stopped
        for _ in range(5):
            c.poll(advance=1.0)
            await pilot.pause()
        assert any(e.kind == "migration_started" for e in c.backend.events())
        assert not list(c.app.ping_watches) and not c.app.query(PingPanel)


async def test_w_on_a_stopped_guest_says_it_is_stopped_and_measures_nothing(console_factory):
    """A tester's finding: `w` on stopped test1 reported "downtime at least 4.83 s, 466
    probes lost, still down", an outage of a guest that was off."""
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        c.app.query_one(ClusterTree).select_ref(TreeRef("lab", "qemu/103"))  # test1, stopped
        await pilot.press("w")
        await c.app.workers.wait_for_complete()
        await pilot.pause()
        messages = [n.message for n in c.app._notifications]
        assert "test1 is stopped: no outage to measure (start it first, or W pings any " \
            "address)" in messages
        assert not list(c.app.ping_watches), "a stopped guest was probed"
        assert not c.app.query(PingPanel)


async def test_w_on_a_row_that_is_no_guest_says_it_needs_one(console_factory):
    """A tester's finding: `w` on a node, a storage or the cluster opened the address
    box, as `W` does; the key line and help say `w` measures the selected guest."""
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        for ref in (TreeRef("lab", "node/pve1"), TreeRef("lab")):
            c.app._notifications.clear()
            tree.select_ref(ref)
            await pilot.press("w")
            await pilot.pause()
            assert [n.message for n in c.app._notifications] == [
                "w measures the guest selected in the tree: select a guest (W pings any "
                "address)"], ref
            assert not c.app.query(PingPanel) and c.app.focused is tree
            assert not c.app.query("#ping-address.editing")


async def test_w_on_a_template_is_refused_with_a_reason(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        c.app.query_one(ClusterTree).select_ref(TreeRef("lab", "qemu/9000"))
        await pilot.press("w")
        await c.app.workers.wait_for_complete()
        await pilot.pause()
        messages = [n.message for n in c.app._notifications]
        assert "debian12-template: a template does not run: nothing to ping" in messages
        assert not list(c.app.ping_watches), "a template was probed"
        assert not c.app.query(PingPanel)


async def test_a_bulk_of_migrations_starts_at_most_max_auto_measurements(console_factory):
    from vmconsole.ui.pinging import MAX_AUTO

    c = console_factory(nodes=6, guests=90)
    async with c.app.run_test(size=(120, 40), notifications=True) as pilot:
        c.poll()
        await pilot.pause()
        inventory = c.backend.inventory()
        nodes = [n.name for n in inventory.nodes]
        started = 0
        for guest in (g for g in inventory.guests if g.running and g.ha is None):
            target = nodes[(nodes.index(guest.node) + 1) % len(nodes)]
            try:
                c.backend.migrate(guest.id, target, MigrationMode.LIVE
                                  if guest.kind == "qemu" else MigrationMode.RESTART)
                started += 1
            except InvalidInput:  # a local disk, or no room there
                pass
        assert started > MAX_AUTO
        c.poll(advance=0.5)
        await pilot.pause()
        automatic = [w for w in c.app.ping_watches if w.why != "ping"]
        assert len(automatic) == MAX_AUTO
        assert any("not measured: at most" in str(n.message)
                   for n in c.app._notifications)


async def test_the_demo_failover_is_measured_from_the_power_off(console_factory):
    """At 60x the console polls every 60 simulated seconds, so db1's measurement began up
    to a minute after pve2 lost power, and its figure ("down when pinging began: first
    reply after ...") was short of the failover's downtime by that much."""
    c = console_factory()
    c.backend.start_scenario("ha-failover")  # pve2, db1's node, powers off at +10 s
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()

        def snapshot() -> PingSnapshot | None:
            watch = c.app.ping_watches.running_on("lab", "qemu/101")
            measurement = watch.measurement if watch is not None else None
            return measurement.snapshot() if measurement is not None else None

        async def until(condition: Callable[[], object]) -> None:
            deadline = time.monotonic() + 60  # a loaded CI machine starves threads
            while not condition():
                assert time.monotonic() < deadline, "timed out"
                await pilot.pause(0.02)

        def probed_now() -> bool:  # the manual clock stands still until told
            snap = snapshot()
            return snap is None or (bool(snap.samples) and snap.samples[-1].sent >= snap.now)

        for _ in range(6):  # a poll each simulated minute, as at 60x; it takes under three
            c.poll(advance=60.0)
            await pilot.pause()
            await until(probed_now)
            if (snap := snapshot()) is not None and snap.outages:
                break
        watch = c.app.ping_watches.running_on("lab", "qemu/101")
        assert watch is not None and watch.why == "failover"
        panel = c.app.query_one(PingPanel)
        assert snap is not None
        [power_off] = [e for e in c.backend.events() if e.kind is EventKind.POWER_OFF]
        assert snap.samples[0].sent - power_off.time >= 50  # pinging began later
        [outage] = snap.outages
        back = next(s.sent for s in snap.samples if s.rtt is not None)
        said = (f"{format_clock(power_off.time)}  down since power off: first reply after "
                f"{format_duration(back - power_off.time)}, {outage.lost} probes lost")
        lines = panel.query_one("#ping-outages", Static)
        await until(lambda: "first reply after" in plain(lines))  # its 5 Hz refresh
        assert said in plain(lines)
        assert "down since power off: first reply after" in list_rows(panel)[0]
        # The chart reaches back to the power-off: its mark is the first.
        legend = plain(panel.query_one("#ping-legend", Static)).replace("\u00a0", " ")
        assert legend.startswith("1 power off  2 node lost"), legend
        watch.end("test over")


async def test_a_measurement_whose_backend_does_not_answer_says_why(console_factory):
    """A served console's simulator is the server's (serve/calls.py): when it does not
    answer, the panel says so rather than "starting…" for good."""
    c = console_factory()

    def no_answer() -> float:
        raise BackendError("now: no answer from the server in 120 s")

    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        c.backend.now = no_answer
        c.app.query_one(ClusterTree).select_ref(TreeRef("lab", "qemu/100"))
        await pilot.press("w")
        await c.app.workers.wait_for_complete()
        await pilot.pause()
        panel = c.app.query_one(PingPanel)
        assert "no answer from the server in 120 s" in plain(
            panel.query_one("#ping-error", Static))
