"""The console on a vCenter, as an operator uses it: the tree, the migrate form with
vCenter's reasons, a vMotion that moves the VM in the tree, the task log."""

from __future__ import annotations

import time

from textual.widgets import OptionList

from tests.ui_ops.helpers import (
    act,
    screen_text,
    select_in,
    settle,
    settled,
    task_rows,
    tree_parent,
)
from vmconsole.actor import Actor, Role
from vmconsole.audit import AuditLog
from vmconsole.backends.base import TaskStatus
from vmconsole.backends.vcenter import VCenterBackend
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.messages import ClusterPolled
from vmconsole.ui.modals.migrate import MigrateForm

VCSIM_ARGS = ("-vm", "2")


async def poll(pilot, loop: PollLoop) -> None:
    result = loop.poller.poll()
    assert result.ok, result.error
    loop.latest = result
    pilot.app.post_message(ClusterPolled(result))
    await pilot.pause()
    await pilot.pause()


async def test_migrate_form_shows_vcenters_reasons_and_the_vm_moves(
        backend: VCenterBackend, tmp_path) -> None:
    inventory = backend.inventory()
    guest = sorted(inventory.guests, key=lambda g: g.name)[0]
    others = [n.name for n in inventory.nodes if n.name != guest.node]
    backend.wait(backend.set_host_maintenance(others[0], True).id, 30)
    loop = PollLoop(Poller(backend, interval=3600))
    app = VMConsoleApp([loop], actor=Actor("alice", Role.OPERATOR, "local"),
                       audit=AuditLog(tmp_path / "audit.jsonl"))
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await poll(pilot, loop)
            assert tree_parent(app, guest.name) == f"node/{guest.node}"
            await select_in(pilot, loop, guest.name)
            await act(pilot, "m")
            form = app.screen
            assert isinstance(form, MigrateForm)
            targets = form.query_one("#node", OptionList)
            listed = {targets.get_option_at_index(i).id: targets.get_option_at_index(i)
                      for i in range(targets.option_count)}
            assert listed[others[0]].disabled
            assert "the host is in maintenance mode" in str(listed[others[0]].prompt)
            assert "the VM is on this host" in str(listed[guest.node].prompt)
            assert not listed[others[1]].disabled
            await pilot.press("enter")  # the first allowed host is highlighted
            await settle(pilot)
            assert app.screen is not form
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                await poll(pilot, loop)
                if tree_parent(app, guest.name) == f"node/{others[1]}":
                    break
            assert tree_parent(app, guest.name) == f"node/{others[1]}"
            task = next(t for t in backend.tasks() if t.operation == "migrate")
            assert backend.wait(task.id).status is TaskStatus.OK
            await act(pilot, "t")
            row = next(r for r in task_rows(app) if r[3] == "migrate")
            # The task log cuts a long name with an ellipsis to keep Status on screen.
            assert row[1] == guest.node and row[-1] == "OK"
            assert guest.name.startswith(row[2].removesuffix("…"))
    finally:
        backend.wait(backend.set_host_maintenance(others[0], False).id, 30)


def node_label(app, name: str) -> str:
    from vmconsole.ui.widgets.cluster_tree import ClusterTree

    tree = app.query_one(ClusterTree)
    for line in range(tree.last_line + 1):
        node = tree.get_node_at_line(line)
        if node is not None and node.data is not None and node.data.object_id == f"node/{name}":
            return node.label.plain
    raise AssertionError(f"no host {name} in the tree")


async def test_host_maintenance_from_the_palette_asks_runs_and_shows(
        backend: VCenterBackend, tmp_path) -> None:
    from tests.ui_ops.helpers import wait_until
    from vmconsole.ui.modals.bulk import BulkConfirmScreen
    from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef

    audit = AuditLog(tmp_path / "audit.jsonl")
    loop = PollLoop(Poller(backend, interval=3600))
    app = VMConsoleApp([loop], actor=Actor("alice", Role.ADMIN, "local"), audit=audit)
    host = "DC0_C0_H1"
    async with app.run_test(size=(100, 30)) as pilot:
        await poll(pilot, loop)
        assert app.query_one(ClusterTree).select_ref(TreeRef("vc"))
        await pilot.pause()
        shown = " ".join(screen_text(app).split())  # the value wraps at the pane's width
        assert "vSphere cluster DC0_C0 3 hosts; vSphere HA not reported by vCenter; DRS on" in shown
        assert "maintenance" not in node_label(app, host)
        assert app.query_one(ClusterTree).select_ref(TreeRef("vc", f"node/{host}"))
        await pilot.pause()

        def command(title: str):
            return next(c for c in app.get_system_commands(app.screen) if c.title == title)

        command(f"Enter maintenance mode: {host}").callback()  # as `M`: the plan first
        await wait_until(pilot, lambda: isinstance(app.screen, BulkConfirmScreen), 20,
                         "the plan")
        await act(pilot, "y")
        await wait_until(pilot, lambda: any(t.operation == "maintenance_enter"
                                            for t in backend.tasks()), 30, "the task")
        task = next(t for t in backend.tasks() if t.operation == "maintenance_enter")
        assert backend.wait(task.id).status is TaskStatus.OK
        await poll(pilot, loop)
        assert "maintenance" in node_label(app, host)
        [record] = [r for r in audit.read() if r.result == "started"
                    and r.operation.startswith("maintenance")]
        assert (record.operation, record.target) == ("maintenance_enter", f"node/{host}")

        command(f"Exit maintenance mode: {host}").callback()  # no question to leave it
        await settle(pilot)
        task = next(t for t in backend.tasks() if t.operation == "maintenance_exit")
        assert backend.wait(task.id).status is TaskStatus.OK
        await poll(pilot, loop)
        assert "maintenance" not in node_label(app, host)


async def test_a_template_becomes_a_vm_again_from_the_palette(
        backend: VCenterBackend, tmp_path) -> None:
    from tests.ui_ops.helpers import tree_label

    guest = sorted(backend.inventory().guests, key=lambda g: g.name)[1]
    backend.wait(backend.stop(guest.id).id, 30)
    backend.wait(backend.convert_to_template(guest.id).id, 30)
    audit = AuditLog(tmp_path / "audit.jsonl")
    loop = PollLoop(Poller(backend, interval=3600))
    app = VMConsoleApp([loop], actor=Actor("alice", Role.OPERATOR, "local"), audit=audit)
    async with app.run_test(size=(100, 30)) as pilot:
        await poll(pilot, loop)
        before = tree_label(app, guest.name)
        await select_in(pilot, loop, guest.name)
        [command] = [c for c in app.get_system_commands(app.screen)
                     if c.title == f"Convert to VM: {guest.name}"]
        assert command.help == f"Make the template a VM again, on {guest.node}"
        command.callback()
        await settle(pilot)
        task = next(t for t in backend.tasks() if t.operation == "template_to_vm")
        assert backend.wait(task.id).status is TaskStatus.OK
        await poll(pilot, loop)
        assert not loop.poller.inventory.guest(guest.id).template
        assert tree_label(app, guest.name) != before
        assert not [c for c in app.get_system_commands(app.screen)
                    if c.title.startswith("Convert to VM")]
        [record] = list(audit.read())
        assert (record.operation, record.target, record.parameters) == (
            "template_to_vm", guest.id, {"node": guest.node})


async def test_a_quiesced_snapshot_from_the_snapshot_panel(
        backend: VCenterBackend, tmp_path) -> None:
    from textual.widgets import Checkbox

    from vmconsole.ui.modals.snapshot_create import SnapshotCreateForm
    from vmconsole.ui.modals.snapshots import SnapshotPanel

    guest = next(g for g in backend.inventory().guests if g.running)
    audit = AuditLog(tmp_path / "audit.jsonl")
    loop = PollLoop(Poller(backend, interval=3600))
    app = VMConsoleApp([loop], actor=Actor("alice", Role.OPERATOR, "local"), audit=audit)
    async with app.run_test(size=(100, 30)) as pilot:
        await poll(pilot, loop)
        await select_in(pilot, loop, guest.name)
        await act(pilot, "S")
        assert isinstance(app.screen, SnapshotPanel)
        await act(pilot, "n")
        form = app.screen
        assert isinstance(form, SnapshotCreateForm)
        assert form.query_one("#quiesce", Checkbox).value is False
        form.query_one("#quiesce", Checkbox).value = True
        await pilot.press(*"consistent", "enter")
        await settle(pilot)
        task = next(t for t in backend.tasks() if t.operation == "snapshot")
        assert backend.wait(task.id).status is TaskStatus.OK
        [taken] = [s for s in backend.snapshots(guest.id) if s.name == "consistent"]
        assert taken.quiesced
        [record] = list(audit.read())
        assert record.parameters == {"name": "consistent", "description": "",
                                     "vmstate": False, "quiesce": True}


async def test_the_ha_form_asks_vsphere_for_a_restart_priority(
        backend: VCenterBackend, tmp_path) -> None:
    from textual.widgets import Input, Select

    from vmconsole.model import RestartPriority
    from vmconsole.model.vsphere import VSphereVmHA
    from vmconsole.ui.modals.vsphere_ha import VSphereHAForm

    guest = sorted(backend.inventory().guests, key=lambda g: g.name)[0]
    loop = PollLoop(Poller(backend, interval=3600))
    audit = AuditLog(tmp_path / "audit.jsonl")
    app = VMConsoleApp([loop], actor=Actor("alice", Role.OPERATOR, "local"), audit=audit)
    async with app.run_test(size=(100, 40)) as pilot:
        await poll(pilot, loop)
        await select_in(pilot, loop, guest.name)
        await act(pilot, "H")
        form = app.screen
        assert isinstance(form, VSphereHAForm)
        shown = " ".join(screen_text(app).split())
        # The cluster's settings, read only; no nodes, groups or restart counts.
        assert "Cluster DC0_C0 vSphere HA not reported by vCenter DRS on" in shown
        assert "set in the vSphere Client" in shown
        assert not form.query(Input) and "max_restart" not in shown
        select = form.query_one("#restart_priority", Select)
        assert [str(p) for p, _ in select._options] == [
            "the cluster's default (not reported)", "disabled", "lowest", "low", "medium",
            "high", "highest"]
        select.value = "high"
        form.action_submit()  # the Apply button
        await settle(pilot)
        task = next(t for t in backend.tasks() if t.operation == "ha_set")
        assert backend.wait(task.id).status is TaskStatus.OK
        await poll(pilot, loop)
        ha = loop.poller.inventory.guest(guest.id).ha
        assert ha is not None and ha.vsphere == VSphereVmHA(RestartPriority.HIGH, own=True)
        shown = " ".join(screen_text(app).split())
        assert "Restart priority high (its own): restarted before medium ones" in shown
        [record] = list(audit.read())
        assert record.operation == "ha" and record.parameters["restart_priority"] == "high"

        await act(pilot, "H")  # opened again, it shows the VM's own priority
        assert app.screen.query_one("#restart_priority", Select).value == "high"


async def test_charts_say_what_vcenter_does_not_report_instead_of_drawing_zero(
        backend: VCenterBackend) -> None:
    from vmconsole.ui.widgets.metric_chart import MetricChart

    inventory = backend.inventory()
    guest = sorted(inventory.guests, key=lambda g: g.name)[0]
    assert {"cpu", "mem", "net_in", "net_out"} <= set(guest.unreported)  # vcsim's VMs
    loop = PollLoop(Poller(backend, interval=3600))
    app = VMConsoleApp([loop])
    async with app.run_test(size=(100, 40)) as pilot:
        for _ in range(3):  # samples enough for a chart to draw
            await poll(pilot, loop)
        await select_in(pilot, loop, guest.name)
        await pilot.pause()
        for chart_id in ("#chart-cpu", "#chart-mem", "#chart-net"):
            await settled(pilot, app.query_one(chart_id, MetricChart))
            shown = app.query_one(chart_id, MetricChart).render().plain
            assert shown == "not reported by this cluster's API", (chart_id, shown)
