"""Teaching mode as a student uses it: break a node, watch the timeline, change speed."""

from __future__ import annotations

import threading
import time

from textual.widgets import RichLog, Static

from tests.ui_ops.helpers import palette_search
from vmconsole.actor import Actor, Role
from vmconsole.backends.abilities import FaultKind
from vmconsole.backends.base import MigrationMode
from vmconsole.backends.ha_config import HASettings
from vmconsole.model import HARequest
from vmconsole.ui.modals.confirm import ConfirmScreen
from vmconsole.ui.modals.fault_tolerance import FaultToleranceForm
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef
from vmconsole.ui.widgets.ping_panel import PingPanel


def timeline(app) -> str:
    log = app.query_one("#teach-log", RichLog)
    return "\n".join("".join(seg.text for seg in line) for line in log.lines)


async def select(app, pilot, ref: TreeRef) -> None:
    assert app.query_one(ClusterTree).select_ref(ref)
    await pilot.pause()


async def settle(c, pilot, polls: int = 1, advance: float = 0.0) -> None:
    for _ in range(polls):
        await c.app.workers.wait_for_complete()
        c.poll(advance=advance)
        await pilot.pause()


async def test_panel_is_on_in_the_demo_and_narrates_a_power_off(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        await settle(c, pilot)
        assert c.app.query_one("#teaching").has_class("visible")
        await select(c.app, pilot, TreeRef("lab", "node/pve2"))
        await pilot.press("f")
        await pilot.press("enter")  # the first choice: power off
        await settle(c, pilot, polls=2, advance=5.0)  # the CRM master's next round
        (record,) = c.app.audit.read()
        assert (record.operation, record.target, record.result) == (
            "fault_power_off", "pve2", "done")
        text = timeline(c.app)
        assert "pve2" in text and "lost" in text
        assert "fence delay" in text
        await settle(c, pilot, polls=14, advance=5.0)  # 70 s later
        assert "fence" in timeline(c.app).split("fence delay", 1)[1]
        tree_top = str(c.app.query_one(ClusterTree).get_node_at_line(0).label)
        assert "quorate 2/3" in tree_top


async def test_two_speed_keys_in_one_burst_step_twice(console_factory):
    c = console_factory()
    release = threading.Event()
    set_scale = c.backend.set_time_scale

    def slow_set(scale: float) -> None:  # a busy backend: the second key comes first
        release.wait(10)
        set_scale(scale)

    c.backend.set_time_scale = slow_set
    async with c.app.run_test(size=(120, 40)) as pilot:
        await settle(c, pilot)
        await pilot.press("right_square_bracket", "right_square_bracket")
        release.set()
        await c.app.workers.wait_for_complete()
        assert c.backend.time_scale == 60
        release.clear()
        await pilot.press("left_square_bracket", "left_square_bracket", "p")
        release.set()
        await c.app.workers.wait_for_complete()
        assert c.backend.time_scale == 0


async def test_speed_keys_change_the_simulated_clock(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        await settle(c, pilot)

        async def press(key: str) -> float:
            await pilot.press(key)
            await c.app.workers.wait_for_complete()
            return c.backend.time_scale

        assert await press("right_square_bracket") == 10
        assert await press("right_square_bracket") == 60
        assert await press("p") == 0
        assert await press("p") == 60
        for _ in range(3):
            await press("left_square_bracket")
        assert c.backend.time_scale == 1
        records = list(c.app.audit.read())
        assert [r.parameters["scale"] for r in records] == [10, 60, 0, 60, 10, 1, 1]
        assert {r.operation for r in records} == {"time_scale"}
        assert all(r.result == "done" and r.user == c.app.actor.user for r in records)


async def open_partition_box(c, pilot) -> None:
    """The fault menu's "Partition the cluster into groups…", from node pve3."""
    await settle(c, pilot)
    await select(c.app, pilot, TreeRef("lab", "node/pve3"))
    await pilot.press("f")
    for _ in range(4):
        await pilot.press("down")
    await pilot.press("enter")


async def test_partition_from_the_fault_menu(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        await open_partition_box(c, pilot)
        await pilot.press(*"pve1 | pve3", "enter")
        error = c.app.screen.query_one("#partition-error")
        assert "every node exactly once" in str(error.render())
        await pilot.press("ctrl+u", *"pve1 pve2 | pve3", "enter")
        await settle(c, pilot, polls=2)
        assert "partition" in timeline(c.app)
        assert c.loop.poller.inventory.quorum.votes == 2


async def test_the_partition_box_names_unknown_nodes_as_typed(console_factory):
    """A tester's finding: "[bold]x 99999999999999999999" was answered "no such node:
    99999999999999999999, [bold]x", sorted rather than in the order typed."""
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        await open_partition_box(c, pilot)
        await pilot.press(*"[bold]x 99999999999999999999 pve1 [bold]x | pve2 pve3", "enter")
        error = c.app.screen.query_one("#partition-error")
        assert str(error.render()) == "no such node: [bold]x, 99999999999999999999"


async def test_an_admin_shutdown_of_a_node_from_the_fault_menu(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        await settle(c, pilot)
        await select(c.app, pilot, TreeRef("lab", "node/pve3"))
        await pilot.press("f")
        for _ in range(8):
            await pilot.press("down")
        await pilot.press("enter")  # "Shut down pve3 as an admin would …"
        await settle(c, pilot, polls=2)
        (record,) = c.app.audit.read()
        assert (record.operation, record.target, record.result) == ("shutdown", "pve3", "done")
        assert "pve3 shuts down (shutdown policy conditional)" in timeline(c.app)


async def test_disarming_ha_from_the_fault_menu(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        await settle(c, pilot)
        await select(c.app, pilot, TreeRef("lab", "node/pve1"))
        await pilot.press("f")
        for _ in range(14):
            await pilot.press("down")
        await pilot.press("enter")  # "Disarm HA, freezing every service"
        await settle(c, pilot, polls=4, advance=10.0)
        (record,) = c.app.audit.read()
        assert (record.operation, record.result) == ("disarm_freeze", "done")
        text = timeline(c.app)
        assert "disarm-ha freeze requested" in text and "fully disarmed" in text


async def test_a_viewer_can_neither_break_the_cluster_nor_change_its_clock(console_factory):
    c = console_factory(actor=Actor("pupil", Role.VIEWER))
    async with c.app.run_test(size=(120, 40)) as pilot:
        await settle(c, pilot)
        await select(c.app, pilot, TreeRef("lab", "node/pve1"))
        await pilot.press("f")
        await pilot.press("p", "right_square_bracket")
        await c.app.workers.wait_for_complete()
        await pilot.pause()
        assert c.app.screen is c.app.screen_stack[0], "no fault menu for a viewer"
        assert any("admin role" in n.message for n in c.app._notifications)
        assert all(n.online for n in c.loop.poller.inventory.nodes)
        assert c.backend.time_scale == 1, "a viewer changed the clock the class shares"
        refused = list(c.app.audit.read())
        assert sorted(r.operation for r in refused) == [
            "fault_injection", "time_scale", "time_scale"]
        assert all(r.result.startswith("refused:") and r.user == "pupil" for r in refused)


async def test_scenario_from_the_palette_then_its_summary(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        await settle(c, pilot)
        await pilot.press("ctrl+p")
        await palette_search(pilot, "Scenario: split-brain-q")
        await pilot.press("enter")
        await settle(c, pilot, polls=2)
        assert [n.name for n in c.loop.poller.inventory.nodes] == ["pve1", "pve2"]
        assert "split-brain-qdevice" in timeline(c.app)
        await settle(c, pilot, polls=30, advance=10.0)
        await pilot.press("ctrl+p")
        await palette_search(pilot, "Scenario summary")
        await pilot.press("enter")
        await c.app.workers.wait_for_complete()
        await pilot.pause()
        text = timeline(c.app)
        assert "scenario summary" in text
        assert "no guest ever ran on two nodes at once" in text


def test_teaching_panel_mid_failover(snap_compare, console_factory):
    c = console_factory(actor=Actor("teacher", Role.ADMIN))

    async def run_before(pilot) -> None:
        await settle(c, pilot)
        c.backend.inject_fault("pve2", FaultKind.POWER_OFF)
        await settle(c, pilot, polls=20, advance=4.0)  # 80 s: past the fence delay
        await select(c.app, pilot, TreeRef("lab", "node/pve2"))
        # The failover started the ping monitor on db1; its live figures would make the
        # snapshot differ run to run (tests/ui/test_ping_in_console.py covers it).
        ping = c.app.query_one(PingPanel)
        assert ping.measurement is not None and ping.measurement.target.address == "qemu/101"
        ping.stop()
        c.app.show_ping(False)
        await pilot.pause()

    assert snap_compare(c.app, terminal_size=(80, 24), run_before=run_before)


async def palette(c, pilot, command: str) -> None:
    await pilot.press("ctrl+p")
    await palette_search(pilot, command)
    await pilot.press("enter")
    await c.app.workers.wait_for_complete()
    await pilot.pause()


async def test_ha_status_and_the_crs_plan_from_the_palette(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        await settle(c, pilot)
        await palette(c, pilot, "HA status")
        text = timeline(c.app)
        assert "— HA status —" in text and "fencing: armed" in text
        assert "master pve1 (active)" in text
        await palette(c, pilot, "CRS: balancing plan")
        assert "basic scheduler: imbalance" in timeline(c.app)


async def test_fault_tolerance_of_the_selected_vm_from_the_palette(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        await settle(c, pilot)
        await select(c.app, pilot, TreeRef("lab", "qemu/100"))  # web1: an HA resource
        await pilot.press("ctrl+p")
        await palette_search(pilot, "Fault tolerance: the selected VM")
        await pilot.press("enter")  # its flow waits on the form: no wait_for_complete
        deadline = time.monotonic() + 10
        while not isinstance(c.app.screen, FaultToleranceForm) or not c.app.screen.query(
                "#error-refusal"):
            assert time.monotonic() < deadline, "the FT form did not open"
            await pilot.pause(0.05)
        form = c.app.screen
        said = " ".join(str(s.visual) for s in form.query(Static))
        assert "Cannot protect it, for 2 reasons:" in said
        assert "\n- fault tolerance needs a dedicated" in said
        assert "\n- VM 100 (web1) is an HA resource" in said
        assert list(c.app.audit.read()) == []  # nothing to submit: nothing was changed


def palette_titles(app) -> list[str]:
    """What Ctrl+P offers on the main screen (the app's system commands)."""
    return [command.title for command in app.get_system_commands(app.screen)]


async def test_a_viewer_is_offered_no_change_to_the_shared_cluster(console_factory):
    c = console_factory(actor=Actor("pupil", Role.VIEWER))
    async with c.app.run_test(size=(120, 40)) as pilot:
        await settle(c, pilot)
        await select(c.app, pilot, TreeRef("lab", "qemu/100"))
        titles = palette_titles(c.app)
        assert "HA status" in titles and "CRS: balancing plan" in titles  # readings stay
        assert "HA rules" in titles
        changes = [t for t in titles if t.startswith(("CRS: apply", "CRS: settings",
                                                      "Fault tolerance:", "Scenario: "))]
        assert changes == [], f"a viewer is offered {changes}"
    admin = console_factory(actor=Actor("teacher", Role.ADMIN))
    async with admin.app.run_test(size=(120, 40)) as pilot:
        await settle(admin, pilot)
        titles = palette_titles(admin.app)
        assert "CRS: apply the best recommendation" in titles
        assert "Fault tolerance: the selected VM" in titles and "CRS: settings" in titles


async def test_applying_the_crs_recommendation_asks_first(console_factory):
    c = console_factory()
    c.backend.set_crs("static")
    c.backend.ha_set("qemu/103", HASettings(request=HARequest.STARTED))  # test1 on pve1
    c.backend.ha_set("lxc/201", HASettings(request=HARequest.STARTED))  # proxy1 on pve2
    c.backend.migrate("qemu/100", "pve2", MigrationMode.LIVE)  # web1 joins it: pve2 busiest
    async with c.app.run_test(size=(120, 40)) as pilot:
        await settle(c, pilot, polls=6, advance=10.0)
        await palette(c, pilot, "CRS: apply the best recommendation")
        assert isinstance(c.app.screen, ConfirmScreen), "a guest moved without a question"
        question = " ".join(str(s.render()) for s in c.app.screen.query(Static))
        assert "Migrate" in question
        await pilot.press("n")
        await settle(c, pilot, polls=6, advance=10.0)
        assert list(c.app.audit.read()) == []
        assert c.loop.poller.inventory.guest("qemu/100").node == "pve2"
        await palette(c, pilot, "CRS: apply the best recommendation")
        await pilot.press("y")
        await settle(c, pilot, polls=6, advance=10.0)
        (record,) = c.app.audit.read()
        assert (record.operation, record.result) == ("crs_apply", "done")
        assert c.loop.poller.inventory.guest("qemu/100").node == "pve1"
