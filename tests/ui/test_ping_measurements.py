"""Every migration and failover gets a measurement of its own, even while another runs;
each shows in the panel and in its task's detail; measurements of guests that leave the
cluster end, saying why."""

from __future__ import annotations

import time

from rich.console import Console
from textual.widgets import OptionList, Static

from tests.frozen import FrozenConsole
from tests.ui_ops.helpers import wait_until
from vmconsole.backends.abilities import ClusterEvent
from vmconsole.backends.base import MigrationMode, Task
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.sim.clock import RealClock
from vmconsole.config import SimCluster
from vmconsole.model import GuestStatus
from vmconsole.ui.messages import TaskOpened
from vmconsole.ui.modals.task_detail import TaskDetailScreen
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef
from vmconsole.ui.widgets.ping_panel import PingPanel


def plain(widget: Static) -> str:
    console = Console(width=200, record=True)
    console.print(widget.content)
    return console.export_text()


def list_rows(panel: PingPanel) -> list[str]:
    options = panel.query_one("#ping-list", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def poll_until(c: FrozenConsole, pilot, condition, seconds: float = 20.0,
                     advance: float = 0.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        c.poll(advance)
        await pilot.pause(0.1)


async def measured_in_detail(c: FrozenConsole, pilot, task: Task) -> str:
    """The "Measured (ping)" line of TASK's detail screen, which is then closed; fails
    if the screen does not show one within 10 s."""
    c.app.query_one("#tasks").post_message(TaskOpened("lab", task))

    def summary() -> str:  # "" until the screen is up and has drawn its summary
        screen = c.app.screen
        return plain(screen.query_one("#summary", Static)) if isinstance(
            screen, TaskDetailScreen) and screen.query("#summary") else ""

    await wait_until(pilot, lambda: "Measured (ping)" in summary(), 10,
                     "the task's detail with what was measured", seen=summary)
    line = next(ln for ln in summary().splitlines() if "Measured (ping)" in ln)
    await pilot.press("escape")
    return " ".join(line.split())


async def test_a_migration_is_measured_while_w_measures_another_guest():
    # The simulated clock runs at 10x, so a container's ~8 s restart takes under a second.
    c = FrozenConsole(SimCluster(), clock=RealClock(10.0))
    c.backend.sim.guests["lxc/200"].ha = None  # its own migration, not an HA request
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        c.app.query_one(ClusterTree).select_ref(TreeRef("lab", "qemu/100"))
        await pilot.press("w")
        panel = c.app.query_one(PingPanel)
        web1 = panel.watches.running_on("lab", "qemu/100")
        assert web1 is not None
        task = c.backend.migrate("lxc/200", "pve1", MigrationMode.RESTART)
        await poll_until(c, pilot, lambda: panel.watches.running_on("lab", "lxc/200"))
        dns1 = panel.watches.running_on("lab", "lxc/200")
        assert dns1 is not None and dns1.why == "migration"
        assert web1.running, "the first measurement goes on"

        def measured() -> bool:
            measurement = dns1.measurement
            return measurement is not None and bool(measurement.snapshot().outages)

        await poll_until(c, pilot, measured)
        assert dns1.tasks == [task.id]
        # the panel's 5 Hz refresh
        await wait_until(pilot, lambda: any("downtime" in r for r in list_rows(panel)), 10,
                         "dns1's downtime in the panel's list", seen=lambda: list_rows(panel))
        rows = list_rows(panel)
        assert len(rows) == 2
        assert any("web1" in r and "ping" in r for r in rows)
        assert any("dns1" in r and "migration" in r and "downtime" in r for r in rows)
        # The task's detail says what the monitor measured.
        assert "downtime" in await measured_in_detail(c, pilot, task)
        web1.end("test over")
        dns1.end("test over")


async def test_a_scenario_ends_the_measurements_of_the_replaced_cluster(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        c.app.query_one(ClusterTree).select_ref(TreeRef("lab", "qemu/100"))
        await pilot.press("w")
        panel = c.app.query_one(PingPanel)
        watch = panel.watches.running_on("lab", "qemu/100")
        assert watch is not None
        c.backend.start_scenario("split-brain")
        c.poll(advance=1.0)
        await pilot.pause()
        assert not watch.running
        assert "replaced" in watch.ended
        error = panel.query_one("#ping-error", Static)
        await wait_until(pilot, lambda: "replaced" in plain(error), 10,
                         "the panel saying why the measurement ended",
                         seen=lambda: plain(error))
        assert "ended:" in plain(error)
        assert "still down" not in watch.result_text()
        # Back to the classic lab: it too replaces the cluster.
        await pilot.press("w")
        again = panel.watches.running_on("lab", "qemu/100")
        assert again is not None and again is not watch
        c.backend.start_scenario(None)
        c.poll(advance=1.0)
        await pilot.pause()
        assert "replaced" in again.ended


def test_a_real_guests_event_is_charted_at_its_time():
    """A real cluster's events carry wall-clock times; one that came once the measurement
    ran was marked on time.monotonic(), seconds since boot, so it was never charted (and
    a failure's mark would have counted an outage from the machine's boot)."""
    from vmconsole.monitor.ping import Measurement, ProbeTarget
    from vmconsole.monitor.ping.watches import Watch
    from vmconsole.ui.ping_chart import PingChartColors, ping_chart
    from vmconsole.ui.pinging import PingFeatures

    watch = Watch("db1")
    watch.attach(Measurement(ProbeTarget.icmp("127.0.0.1"), interval=0.01, timeout=0.1,
                             count=None, duration=60))  # never started: nothing is sent
    event = ClusterEvent(1, time.time() - 5.0, EventKind.NODE_LOST, "pve2 lost", "pve2")
    watch.mark(event.kind.words, PingFeatures._on_clock(watch, event.time))
    assert watch.measurement is not None
    drawn = ping_chart(watch.measurement.snapshot(), 80, 12,
                       PingChartColors("green", "red", "yellow", "white"), window=30.0)
    assert [m.label for m in drawn.markers] == ["node lost"]


async def test_a_failover_after_a_migration_gets_a_measurement_of_its_own():
    """A tester's finding: test1 migrated, then its node powered off: the failover's outage
    was folded into the migration's measurement ("migration · 3 outages (the first
    began before pinging did), downtime 3 min 00 s in all"), and a second migration's
    task detail had no ping figure (its guest's measurement served the first)."""
    from vmconsole.backends.abilities import FaultKind
    from vmconsole.backends.ha_config import HASettings
    from vmconsole.ui.messages import OperationStarted

    c = FrozenConsole(SimCluster(), clock=RealClock(60.0))
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        watches = c.app.ping_watches  # the app keeps them; the panel is made when shown
        sim = c.backend.sim
        c.backend.start("qemu/103")
        await poll_until(c, pilot, lambda: sim.reachable("qemu/103"))

        async def migrate(node: str):
            task = c.backend.migrate("qemu/103", node, MigrationMode.LIVE)
            c.app.post_message(OperationStarted("lab", "migrate test1", task))
            await poll_until(c, pilot, lambda: any(
                t.id == task.id and t.status.done for t in c.loop.latest.tasks))
            await pilot.pause()
            assert sim.guests["qemu/103"].node == node
            watch = watches.for_task("lab", task.id)
            assert watch is not None and watch.why == "migration"
            return watch

        first = await migrate("pve2")
        second = await migrate("pve3")
        assert second is not first and not first.running
        c.backend.ha_set("qemu/103", HASettings())  # `H`
        power_off = c.backend.now()
        c.backend.inject_fault("pve3", FaultKind.POWER_OFF)
        await poll_until(c, pilot, lambda: (w := watches.running_on(
            "lab", "qemu/103")) is not None and w.why == "failover")
        failover = watches.running_on("lab", "qemu/103")
        assert failover is not None and not second.running
        # The second measurement ends as of the power off, which a poll tells of later:
        # the outage from then on is the failover's (`Watch.ended_at`), whatever the
        # second probed before it heard (on a loaded machine, its losses were counted).
        assert second.ended_at is not None and second.ended_at >= power_off
        assert second.result_text().endswith(
            "; ended: a failover began: it has a measurement of its own")

        def recovered() -> bool:
            measurement = failover.measurement
            return measurement is not None and bool(measurement.snapshot().outages)

        await poll_until(c, pilot, recovered, seconds=30)
        assert failover.result_text().startswith("down since power off: first reply after")
        for watch in watches:
            watch.end("test over")


async def test_a_migrations_task_detail_counts_only_the_outages_within_the_migration():
    """A tester's finding: `w` on test1 while it booted, then a migration: its task detail
    said "2 outages … downtime …", the boot's counted as the migration's; and for an HA
    guest only the 0.0 s `hamigrate` request had the figure, the `migrate` task that
    carried it out none."""
    from vmconsole.ui.messages import OperationStarted

    c = FrozenConsole(SimCluster(), clock=RealClock(60.0))
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        watches = c.app.ping_watches
        sim = c.backend.sim
        tree = c.app.query_one(ClusterTree)

        async def migrate(guest: str, node: str) -> list[Task]:
            """The guest's migration tasks once its migrate task is done."""
            task = c.backend.migrate(guest, node, MigrationMode.LIVE)
            c.app.post_message(OperationStarted("lab", f"migrate {guest}", task))

            def done() -> list[Task]:
                tasks = [t for t in c.loop.latest.tasks if t.target == guest
                         and "migrat" in t.operation and t.started >= task.started]
                return tasks if any(t.operation == "migrate" and t.status.done
                                    for t in tasks) else []

            await poll_until(c, pilot, done, seconds=30)
            c.poll()
            await pilot.pause()
            return done()

        # test1 booting, for 4 s at this clock's 60x: pinging must begin before it
        # answers, which its usual 18-30 s of simulated boot did not leave time for on a
        # loaded machine
        sim.guests["qemu/103"].boot_seconds = 240.0
        c.backend.start("qemu/103")
        await poll_until(c, pilot, lambda: c.loop.latest.inventory.guest(
            "qemu/103").status is not GuestStatus.STOPPED)
        tree.select_ref(TreeRef("lab", "qemu/103"))
        await pilot.press("w")
        booting = watches.running_on("lab", "qemu/103")
        assert booting is not None
        await poll_until(c, pilot, lambda: sim.reachable("qemu/103") and bool(
            booting.measurement and booting.measurement.snapshot().outages))
        [migrated] = await migrate("qemu/103", "pve2")
        # The boot's outage ("the first began before pinging did") is the measurement's,
        # not the migration's (which, probed every 600 ms of simulated time, may lose
        # a probe or none).
        assert "pinging" in booting.result_text()
        detail = await measured_in_detail(c, pilot, migrated)
        assert detail and "pinging" not in detail and "outages" not in detail, detail

        tree.select_ref(TreeRef("lab", "qemu/100"))  # web1, an HA guest
        await pilot.press("w")
        tasks = await migrate("qemu/100", "pve2")
        [carried_out] = [t for t in tasks if t.operation == "migrate"]
        assert await measured_in_detail(c, pilot, carried_out), tasks
        for watch in watches:
            watch.end("test over")
