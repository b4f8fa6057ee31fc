"""Delete on vCenter (`Destroy_Task`) against vcsim: a powered-off VM is gone from the
next poll; a running one is refused with its power state; in bulk on marks, a VM
another client deleted meanwhile and one it powered on fail with the reason, and the
rest are deleted; every delete is audited."""

from __future__ import annotations

import pytest

from tests.ui_ops.helpers import live_console, shown_text, wait_until
from vmconsole.audit import AuditLog, default_audit_path
from vmconsole.backends.base import Conflict, NotFound, TaskStatus
from vmconsole.backends.vcenter import VCenterBackend
from vmconsole.ui.modals.bulk import BulkConfirmScreen
from vmconsole.ui.widgets.cluster_tree import ClusterTree

VCSIM_ARGS = ("-vm", "5")  # five VMs in DC0_C0's pool (vcsim powers them on)


def by_name(backend: VCenterBackend) -> dict[str, str]:
    """VM name -> id of the VMs (not templates) vCenter has now."""
    return {g.name: g.id for g in backend.inventory().guests if not g.template}


def powered_off(backend: VCenterBackend, *ids: str) -> None:
    for guest_id in ids:
        assert backend.wait(backend.stop(guest_id).id, 30).status is TaskStatus.OK


def test_a_powered_off_vm_is_destroyed_and_gone_from_the_next_poll(connect) -> None:
    backend = connect()
    name, guest_id = sorted(by_name(backend).items())[0]
    powered_off(backend, guest_id)
    task = backend.destroy(guest_id)
    assert task.operation == "destroy" and task.target == guest_id
    done = backend.wait(task.id, 30)
    assert done.status is TaskStatus.OK, done.error
    assert any("vSphere task" in line for line in done.log) and done.log[-1] == "done"
    assert name not in by_name(backend)
    with pytest.raises(NotFound, match="has already been deleted"):
        backend.destroy(guest_id)  # deleted meanwhile: said, not a traceback


def test_a_running_vm_is_refused_with_its_power_state(connect) -> None:
    backend = connect()
    name, guest_id = sorted(by_name(backend).items())[-1]
    with pytest.raises(Conflict, match="is powered on: power it off first"):
        backend.destroy(guest_id)
    assert name in by_name(backend)


async def test_bulk_delete_on_marks_reports_each_failure_and_deletes_the_rest(
        connect) -> None:
    backend, other = connect(), connect()  # `other`: another client of the same vCenter
    vms = by_name(backend)
    names = sorted(vms)[:4]
    keep_running, gone_meanwhile, started_meanwhile, deleted = names
    powered_off(backend, vms[gone_meanwhile], vms[started_meanwhile], vms[deleted])
    async with live_console(backend) as pilot:
        await wait_until(pilot, lambda: "vc" in pilot.app.latest, 20, "a poll")
        tree = pilot.app.query_one(ClusterTree)
        tree.marks.marked |= {("vc", vms[n]) for n in names}
        pilot.app.action_guest("delete")  # what the palette's "Delete" entry calls
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, BulkConfirmScreen),
                         20, "the question")
        text = shown_text(pilot.app)
        node = {g.id: g.node for g in backend.inventory().guests}
        for name in (gone_meanwhile, started_meanwhile, deleted):
            assert (f"{name} ({vms[name]} on {node[vms[name]]}): delete it and every disk "
                    "it owns") in text
        assert (f"skipped {keep_running} ({vms[keep_running]} on {node[vms[keep_running]]}): "
                f"{keep_running} is running") in text
        assert "This cannot be undone" in text
        assert other.wait(other.destroy(vms[gone_meanwhile]).id, 30).status is TaskStatus.OK
        assert other.wait(other.start(vms[started_meanwhile]).id, 30).status is TaskStatus.OK
        await pilot.press("y")
        await wait_until(pilot, lambda: any(str(n.title).endswith("2 failed")
                                            for n in pilot.app._notifications), 60,
                         "the summary")
        note = next(n for n in pilot.app._notifications if str(n.title).endswith("2 failed"))
        assert f"{gone_meanwhile}: read {vms[gone_meanwhile]}: The object has already " \
               "been deleted" in str(note.message)  # vCenter's words
        assert f"{started_meanwhile}: {started_meanwhile} is powered on: power it off " \
               "first" in str(note.message)
        await wait_until(pilot, lambda: vms[deleted] not in
                         pilot.app.latest["vc"].inventory.guests_by_id(), 20, "the next poll")
        left = by_name(other)
        assert deleted not in left and gone_meanwhile not in left
        assert keep_running in left and started_meanwhile in left
    records = {r.target: r.result for r in AuditLog(default_audit_path()).read()
               if r.operation == "destroy"}
    assert records[vms[deleted]] == "ok"
    assert records[vms[gone_meanwhile]].startswith("error: ")
    assert records[vms[started_meanwhile]].startswith("error: ")
    assert len(records) == 3
