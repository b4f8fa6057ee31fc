"""`M` on a vCenter host, against vcsim: the console's plan moves the running VMs off by
vMotion, then vSphere's own maintenance mode (`EnterMaintenanceMode_Task`) begins, and
the tree shows vCenter's `runtime.inMaintenanceMode`, so another client's maintenance
shows too and `M` (or the palette) ends it. A plan whose migrations fail leaves the host
out of maintenance mode, with the reason.

vcsim's cluster has DRS on with no automation level (so the console moves the VMs), and
its `EnterMaintenanceMode_Task` succeeds with VMs still running (vCenter's waits): the
order of the tasks is what proves that the console emptied the host first."""

from __future__ import annotations

from pyVmomi import vim

from tests.ui_ops.helpers import live_console, shown_text, tree_label, wait_until
from vmconsole.actor import Actor, Role
from vmconsole.audit import AuditLog, default_audit_path
from vmconsole.backends.base import TaskStatus
from vmconsole.backends.vcenter import VCenterBackend
from vmconsole.backends.vcenter.maintenance import evacuation
from vmconsole.maintenance import MaintenanceRecord
from vmconsole.model import GuestStatus, Inventory, NodeHAState
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.modals.bulk import BulkConfirmScreen
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef

VCSIM_ARGS = ("-vm", "5")


def busiest(inventory: Inventory) -> str:
    """The host with the most VMs (vcsim spreads its VMs over the cluster's hosts)."""
    return max(inventory.nodes, key=lambda n: len(inventory.guests_on(n.name))).name


def in_maintenance(backend: VCenterBackend, host: str) -> bool:
    node = backend.inventory().node(host)
    assert node is not None
    return node.ha_state == NodeHAState.MAINTENANCE


async def press_m(pilot, host: str) -> None:
    tree = pilot.app.query_one(ClusterTree)
    await wait_until(pilot, lambda: tree.select_ref(TreeRef("vc", f"node/{host}")), 20, host)
    tree.focus()
    await pilot.pause()
    await pilot.press("M")


async def the_plan(pilot, host: str) -> str:
    """`M` on the host once the console has polled: the plan's question, as shown."""
    await wait_until(pilot, lambda: "vc" in pilot.app.latest, 20, "a poll")
    await press_m(pilot, host)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, BulkConfirmScreen),
                     20, "the plan")
    return shown_text(pilot.app)


async def test_m_moves_the_running_vms_off_then_enters_vsphere_maintenance_mode(
        connect) -> None:
    backend, other = connect(), connect()
    inventory = backend.inventory()
    host = busiest(inventory)
    on_host = sorted(inventory.guests_on(host), key=lambda g: g.name)
    stopped = on_host[0]  # stays: nothing runs
    assert backend.wait(backend.stop(stopped.id).id, 30).status is TaskStatus.OK
    running = on_host[1:]
    async with live_console(backend) as pilot:
        text = await the_plan(pilot, host)  # the first poll saw the stopped VM
        assert f"Empty {host}: migrate {len(running)} guest" in text
        for guest in running:
            assert f"{guest.name} ({guest.id} on {host}): live migration to DC0_C0_H" in text
        assert f"skipped {stopped.name} ({stopped.id} on {host}): stopped: nothing runs" in text
        assert "It enters maintenance mode once these migrations have emptied it" in text
        await pilot.press("y")
        await wait_until(pilot, lambda: "maintenance" in tree_label(pilot.app, host), 60,
                         "vCenter's maintenance mode in the tree")
        polled = pilot.app.latest["vc"].inventory
        assert {g.id for g in polled.guests_on(host)} == {stopped.id}
        assert in_maintenance(other, host)  # vCenter's own state, seen by another client
        assert not pilot.app.maintenance_record.nodes("vc")  # no record of the console's
        tasks = backend.tasks()
        moves = [t for t in tasks if t.operation == "migrate"]
        [enter] = [t for t in tasks if t.operation == "maintenance_enter"]
        assert len(moves) == len(running) and all(t.status is TaskStatus.OK for t in moves)
        assert enter.started >= max(t.ended or 0 for t in moves)  # emptied first
        assert backend.wait(enter.id, 30).status is TaskStatus.OK

        await press_m(pilot, host)  # no question to leave it
        await wait_until(pilot, lambda: "maintenance" not in tree_label(pilot.app, host), 30,
                         "maintenance mode over")
        assert not in_maintenance(other, host)
    records = [(r.operation, r.target, r.result) for r in AuditLog(default_audit_path()).read()
               if r.operation.startswith("maintenance")]
    assert sorted(records) == [(f"maintenance_{verb}", f"node/{host}", result)
                               for verb in ("enter", "exit") for result in ("ok", "started")]


async def test_another_clients_maintenance_shows_and_the_palette_ends_it(connect) -> None:
    """...and ends an older console's record of it too (its `M` kept vCenter hosts there)."""
    backend, other = connect(), connect()
    host = backend.inventory().nodes[-1].name
    assert other.wait(other.set_host_maintenance(host, True).id, 30).status is TaskStatus.OK
    MaintenanceRecord().set("vc", host, True)
    async with live_console(backend) as pilot:
        await wait_until(pilot, lambda: "vc" in pilot.app.latest
                         and "maintenance" in tree_label(pilot.app, host), 20,
                         "the other client's maintenance mode")
        assert pilot.app.query_one(ClusterTree).select_ref(TreeRef("vc", f"node/{host}"))
        await pilot.pause()
        [command] = [c for c in pilot.app.get_system_commands(pilot.app.screen)
                     if c.title == f"Exit maintenance mode: {host}"]
        command.callback()
        await wait_until(pilot, lambda: "maintenance" not in tree_label(pilot.app, host), 30,
                         "maintenance mode over")
    assert not in_maintenance(other, host)
    assert not MaintenanceRecord().nodes("vc")


async def test_failed_migrations_leave_the_host_out_of_maintenance_mode(connect) -> None:
    backend, other = connect(), connect()
    inventory = backend.inventory()
    host = busiest(inventory)
    running = [g for g in inventory.guests_on(host) if g.status is GuestStatus.RUNNING]
    assert running
    others = [n.name for n in inventory.nodes if n.name != host]
    try:
        async with live_console(backend) as pilot:
            await the_plan(pilot, host)
            for name in others:  # meanwhile, another admin takes every target away
                assert other.wait(other.set_host_maintenance(name, True).id,
                                  30).status is TaskStatus.OK
            await pilot.press("y")
            await wait_until(pilot, lambda: any(
                "stays out of maintenance mode" in str(n.message)
                for n in pilot.app._notifications), 60, "the refusal")
            note = next(str(n.message) for n in pilot.app._notifications
                        if "stays out of maintenance mode" in str(n.message))
            assert f"{len(running)} guest" in note and running[0].name in note
            assert not any(t.operation == "maintenance_enter" for t in backend.tasks())
        assert not in_maintenance(other, host)
        assert {g.id for g in other.inventory().guests_on(host)} >= {g.id for g in running}
    finally:
        for name in others:
            other.wait(other.set_host_maintenance(name, False).id, 30)


def test_drs_fully_automated_moves_the_vms_and_powered_off_ones_are_evacuated() -> None:
    """vSphere API reference, EnterMaintenanceMode_Task: evacuatePoweredOffVms where DRS
    is enabled only (with DRS off the task would wait for a manual re-registration); DRS
    moves the running VMs only when fully automated. vcsim cannot set the level."""
    def config(**drs: object) -> object:
        return vim.cluster.ConfigInfoEx(drsConfig=vim.cluster.DrsConfigInfo(**drs))

    automated = evacuation(config(enabled=True, defaultVmBehavior="fullyAutomated"))
    assert automated.mover == "DRS (fully automated)" and automated.powered_off
    partial = evacuation(config(enabled=True, defaultVmBehavior="partiallyAutomated"))
    assert partial.mover is None and partial.powered_off
    unreported = evacuation(config(enabled=True))  # vcsim's
    assert unreported.mover is None and unreported.powered_off
    off = evacuation(config(enabled=False, defaultVmBehavior="fullyAutomated"))
    assert off.mover is None and not off.powered_off
    standalone = evacuation(None)
    assert standalone.mover is None and not standalone.powered_off


async def test_an_operator_is_refused_before_any_vm_moves(connect) -> None:
    """A host out of service for every user is the admin's (serve/hub.py says so too):
    refused at once, audited, no plan, no migration."""
    backend = connect()
    host = busiest(backend.inventory())
    loop = PollLoop(Poller(backend, interval=0.5))
    app = VMConsoleApp([loop], actor=Actor("olga", Role.OPERATOR, "local"))
    async with app.run_test(size=(120, 40)) as pilot:
        loop.start()
        try:
            await wait_until(pilot, lambda: "vc" in pilot.app.latest, 20, "a poll")
            await press_m(pilot, host)
            await wait_until(pilot, lambda: any("needs" in str(n.message)
                                                for n in pilot.app._notifications), 20,
                             "the refusal")
            assert not isinstance(pilot.app.screen, BulkConfirmScreen)
        finally:
            loop.stop()
    assert not backend.tasks()
    [record] = list(AuditLog(default_audit_path()).read())
    assert (record.operation, record.target) == ("maintenance_enter", f"node/{host}")
    assert record.result.startswith("refused: ")
