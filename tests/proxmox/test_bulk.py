"""Bulk actions and maintenance on a Proxmox cluster (fakepve, through proxmoxer): one
guest's start task fails in PVE's own words while the others start; a node's
maintenance migrates its guests by the plan and keeps it out of every target."""

from __future__ import annotations

import copy

import pytest

from tests.proxmox.conftest import LAB
from tests.ui_ops.helpers import live_console, shown_text, tree_label, wait_until
from vmconsole.ui.modals.bulk import BulkConfirmScreen
from vmconsole.ui.modals.migrate import MigrateForm
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef


@pytest.fixture(autouse=True)
def _own_state_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # the audit log and the record


def with_stopped_vms(*vmids: int) -> dict:
    seed = copy.deepcopy(LAB)
    for vmid in vmids:
        seed["guests"].append({"vmid": vmid, "name": f"lab{vmid}", "node": "pve3",
                               "status": "stopped",
                               "config": {"memory": 512,
                                          "scsi0": f"ceph:vm-{vmid}-disk-0,size=4G"}})
    return seed


async def press_on(pilot, ref: TreeRef, key: str) -> None:
    tree = pilot.app.query_one(ClusterTree)
    await wait_until(pilot, lambda: tree.select_ref(ref), 10, ref.object_id)
    tree.focus()
    await pilot.pause()
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, (BulkConfirmScreen,
                                                                   MigrateForm)),
                     10, "the question")


async def test_one_failing_start_task_is_listed_and_the_others_start(fakepve, connect):
    fakepve.send("reset", seed=with_stopped_vms(102, 103, 104))
    fakepve.call("fail", "POST", "/nodes/pve3/qemu/103/status/start", error="qemu_exited_code")
    async with live_console(connect()) as pilot:
        tree = pilot.app.query_one(ClusterTree)
        await wait_until(pilot, lambda: "lab" in pilot.app.latest, 10, "a poll")
        tree.marks.marked |= {("lab", g) for g in
                              ("qemu/101", "qemu/102", "qemu/103", "qemu/104", "qemu/100")}
        await press_on(pilot, TreeRef("lab", "qemu/102"), "s")
        text = shown_text(pilot.app)
        assert "lab103 (qemu/103 on pve3): start" in text
        assert "skipped web (qemu/100 on pve1): web is running already" in text
        await pilot.press("y")
        await wait_until(pilot, lambda: any(str(n.title).endswith("1 failed")
                                            for n in pilot.app._notifications), 30,
                         "the summary")
        note = next(n for n in pilot.app._notifications if str(n.title).endswith("1 failed"))
        assert "lab103: QEMU exited with code 1" in str(note.message)
        assert [fakepve.guest(v)["status"] for v in (101, 102, 103, 104)] == [
            "running", "running", "stopped", "running"]


async def test_maintenance_migrates_by_the_plan_and_the_node_takes_no_new_guests(
        fakepve, connect):
    async with live_console(connect()) as pilot:
        await wait_until(pilot, lambda: "lab" in pilot.app.latest, 10, "a poll")
        await press_on(pilot, TreeRef("lab", "node/pve1"), "M")
        text = shown_text(pilot.app)
        assert "web (qemu/100 on pve1): live migration to pve" in text
        assert "cache (lxc/200 on pve1): restart migration to pve" in text
        assert "skipped debian-tmpl (qemu/9000 on pve1): a template: it runs nowhere" in text
        assert "ha-manager crm-command node-maintenance enable pve1" in text
        await pilot.press("y")
        # fakepve accepts a VM's migration without moving it (test_operations.py says
        # so): what was asked is the proof for the VM, the container really moves.
        await wait_until(pilot, lambda: fakepve.guest(200)["node"] != "pve1"
                         and fakepve.requests("POST", "/qemu/100/migrate"), 30, "pve1 empty")
        [asked] = fakepve.requests("POST", "/qemu/100/migrate")
        assert asked["target"] in ("pve2", "pve3") and asked["online"] == "1"
        await wait_until(pilot, lambda: "maintenance" in tree_label(pilot.app, "pve1"), 10,
                         "the label")
        await press_on(pilot, TreeRef("lab", "qemu/101"), "m")
        assert "pve1" in shown_text(pilot.app) and "in maintenance" in shown_text(pilot.app)


async def test_bulk_delete_destroys_the_stopped_guests_and_skips_the_running_one(
        fakepve, connect):
    async with live_console(connect()) as pilot:
        tree = pilot.app.query_one(ClusterTree)
        await wait_until(pilot, lambda: "lab" in pilot.app.latest, 10, "a poll")
        tree.marks.marked |= {("lab", "qemu/101"), ("lab", "lxc/201"), ("lab", "qemu/100")}
        pilot.app.action_guest("delete")  # what the palette's "Delete" entry calls
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, BulkConfirmScreen), 10,
                         "the question")
        text = shown_text(pilot.app)
        assert "db (qemu/101 on pve2): delete it and every disk it owns" in text
        assert "dns (lxc/201 on pve3): delete it and every disk it owns" in text
        assert "skipped web (qemu/100 on pve1): web is running: stop it first" in text
        assert "This cannot be undone" in text
        await pilot.press("y")
        await wait_until(pilot, lambda: fakepve.guest(101) is None
                         and fakepve.guest(201) is None, 30, "both destroyed")
        assert fakepve.guest(100)["status"] == "running"
        assert len(fakepve.requests("DELETE", "/qemu/101")) == 1
