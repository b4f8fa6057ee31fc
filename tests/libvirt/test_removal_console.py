"""Delete on libvirt in the console: the confirmation lists what goes and each disk that
stays with why, and lets the user keep the disks; on marks, one confirmation for all,
a running guest skipped with the reason. Audited with the choice. And a restore over a
shut-off guest from its backup panel, whose question says what libvirt's replaces."""

from __future__ import annotations

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from textual import events

from tests.ui_ops.helpers import act, live_console, settle, shown_text, wait_until
from vmconsole.audit import AuditLog, default_audit_path
from vmconsole.backends.libvirt import open_libvirt
from vmconsole.config import LibvirtCluster
from vmconsole.ui.modals.backup_forms import RestoreForm
from vmconsole.ui.modals.backups import BackupPanel
from vmconsole.ui.modals.confirm import ConfirmScreen
from vmconsole.ui.modals.delete import DeleteScreen
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef

from .conftest import PVE1, PVE2, guest_named
from .test_backups import cold1_with_a_backup
from .test_removal import define_old1, volumes


def gone(backend, name: str) -> bool:
    return all(g.name != name for g in backend.inventory().guests)


def end_of(target: str) -> str | None:
    """The result the audit log gives the end of a task on `target` ("ok", "error:
    ..."), or None while it has only its start."""
    return next((r.result for r in AuditLog(default_audit_path()).read()
                 if r.target == target and r.result != "started"), None)


async def ended(pilot, target: str, timeout: float, what: str) -> None:
    """Wait for the end of the task on `target` to be audited, and fail with what it
    said unless it is "ok"."""
    await wait_until(pilot, lambda: end_of(target), timeout, what)
    assert end_of(target) == "ok", [(r.target, r.operation, r.result)
                                    for r in AuditLog(default_audit_path()).read()]


async def test_delete_lists_what_stays_and_why_and_deletes_the_own_volume(monkeypatch,
                                                                           tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    backend = open_libvirt(LibvirtCluster("kvm", (PVE1, PVE2), timeout=3.0))
    backend.inventory()
    define_old1(backend)
    old1 = guest_named(backend, "old1")
    async with live_console(backend) as pilot:
        app = pilot.app
        tree = app.query_one(ClusterTree)
        await wait_until(pilot, lambda: tree.select_ref(TreeRef("kvm", old1.id)), 10,
                         "old1 in the tree")
        app.action_guest("delete")
        # the dialog's lists are drawn after it is pushed: a busy machine shows the
        # screen a frame before its text
        await wait_until(pilot, lambda: isinstance(app.screen, DeleteScreen)
                         and "vdc /srv/elsewhere.img" in shown_text(app), 10,
                         "the confirmation with every disk")
        text = shown_text(app)
        assert "undefine old1 with the metadata of 1 snapshot(s): before" in text
        assert "vda pool1/old1.qcow2, 16.0 MiB: deleted with 'Delete with disks'" in text
        assert "vdb pool1/shared.raw, 16.0 MiB: stays: also a disk of peer1 on pve1" in text
        assert "vdc /srv/elsewhere.img: stays: not a volume of a libvirt pool" in text
        await act(pilot, "y")
        await ended(pilot, old1.id, 10, "the task's end audited")
        assert gone(backend, "old1")
        assert "old1.qcow2" not in volumes(backend) and "shared.raw" in volumes(backend)
    records = [r for r in AuditLog(default_audit_path()).read() if r.target == old1.id]
    assert [(r.operation, r.result) for r in records] == [("destroy", "started"),
                                                          ("destroy", "ok")]
    assert records[0].parameters == {"remove_storage": True}


async def test_delete_on_marks_asks_once_skips_a_running_guest_and_can_keep_the_disks(
        monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    backend = open_libvirt(LibvirtCluster("kvm", (PVE1, PVE2), timeout=3.0))
    backend.inventory()
    define_old1(backend)
    marked = [guest_named(backend, n).id for n in ("old1", "peer1", "web1")]
    async with live_console(backend) as pilot:
        app = pilot.app
        tree = app.query_one(ClusterTree)
        await wait_until(pilot, lambda: tree.select_ref(TreeRef("kvm", marked[0])), 10,
                         "old1 in the tree")
        tree.marks.marked |= {("kvm", g) for g in marked}
        app.action_guest("delete")
        # Under load the screen is current some frames before its question is drawn.
        await wait_until(pilot, lambda: isinstance(app.screen, DeleteScreen)
                         and "Delete 2 guests?" in shown_text(app), 10, "the confirmation")
        text = shown_text(app)
        assert "old1 (" in text and "peer1 (" in text
        assert "skipped web1 (" in text and "web1 is running: stop it first" in text
        # peer1's disk is also old1's: it stays whichever goes first
        assert "vda pool1/shared.raw, 16.0 MiB: stays: also a disk of old1 on pve1" in text
        await act(pilot, "k")
        await ended(pilot, "bulk", 15, "the bulk action's end audited")
        assert gone(backend, "old1") and gone(backend, "peer1")
        assert {"old1.qcow2", "shared.raw"} <= volumes(backend)
        records = list(AuditLog(default_audit_path()).read())
    destroys = [r for r in records if r.operation == "destroy" and r.result == "started"]
    assert sorted(r.target for r in destroys) == sorted(marked[:2])
    assert all(r.parameters == {"remove_storage": False} for r in destroys)


async def test_restore_over_from_the_backup_panel_says_what_stays_and_swaps_the_disks(
        monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    backend = open_libvirt(LibvirtCluster("kvm", (PVE1, PVE2), timeout=3.0))
    backend.inventory()
    cold1, backup_id = cold1_with_a_backup(backend)
    async with live_console(backend) as pilot:
        app = pilot.app
        tree = app.query_one(ClusterTree)
        await wait_until(pilot, lambda: tree.select_ref(TreeRef("kvm", cold1.id)), 10,
                         "cold1 in the tree")
        tree.focus()
        await act(pilot, "b")
        panel = app.screen
        assert isinstance(panel, BackupPanel)
        await wait_until(pilot, lambda: panel.backups, 10, "the backup listed")
        assert "zstd" in shown_text(app)  # the compression, in the list
        await act(pilot, "r")
        await wait_until(pilot, lambda: isinstance(app.screen, RestoreForm), 10, "the form")
        await act(pilot, "down")  # the arrow picks "over the guest"
        await pilot.press("enter")  # and Enter submits
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10,
                         "the question")
        warning = app.screen.warning
        assert "its name, UUID, MACs and settings stay" in warning
        await act(pilot, "y")
        await ended(pilot, cold1.id, 15, "the restore's end audited")
        xml = backend.host_named("pve1").connection().lookupByName("cold1").XMLDesc(0)
        assert "volume='cold1-vda.restore-" in xml
    [started] = [r for r in AuditLog(default_audit_path()).read()
                 if r.target == cold1.id and r.result == "started"]
    assert started.operation == "restore" and started.parameters["overwrite"] is True
    assert started.parameters["backup"] == backup_id


async def test_a_y_typed_before_the_delete_question_is_not_its_answer(monkeypatch, tmp_path):
    """Delete asks as every confirmation does (`QuestionScreen`): a "y" typed with the
    key that opened it is dropped, not taken for "Delete with disks"."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    backend = open_libvirt(LibvirtCluster("kvm", (PVE1, PVE2), timeout=3.0))
    backend.inventory()
    define_old1(backend)
    old1 = guest_named(backend, "old1")
    async with live_console(backend) as pilot:
        app = pilot.app
        tree = app.query_one(ClusterTree)
        await wait_until(pilot, lambda: tree.select_ref(TreeRef("kvm", old1.id)), 10,
                         "old1 in the tree")
        app.action_guest("delete")
        app.post_message(events.Key("y", "y"))  # typed before the question is drawn
        await wait_until(pilot, lambda: isinstance(app.screen, DeleteScreen), 10,
                         "the confirmation")
        await settle(pilot)
        assert isinstance(app.screen, DeleteScreen)  # still asking
        await act(pilot, "n")
        assert not gone(backend, "old1") and "old1.qcow2" in volumes(backend)
