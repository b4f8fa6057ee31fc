"""Clone from a snapshot on libvirt, in the console: offered only where libvirt can do
it (a diskless guest: the snapshot keeps its whole definition); for a guest with disks
the snapshot panel says why not and no clone form opens, as the backend would refuse."""

from __future__ import annotations

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from tests.ui_ops.helpers import act, live_console, notes, shown_text, wait_until
from vmconsole.backends.base import NotSupported, TaskStatus
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.libvirt import open_libvirt
from vmconsole.config import LibvirtCluster
from vmconsole.ui.modals.clone import CloneForm
from vmconsole.ui.modals.snapshots import SnapshotPanel
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef

from .conftest import PVE1, PVE2, guest_named, wait

REFUSAL = "libvirt cannot copy a disk as it was at a snapshot"


def test_only_a_diskless_guests_snapshot_can_be_cloned(cluster):
    web, db = guest_named(cluster, "web1"), guest_named(cluster, "db1")
    for guest in (web, db):
        assert wait(cluster, cluster.snapshot_create(guest.id, "s1")).status is TaskStatus.OK
    (web_snap,), (db_snap,) = cluster.snapshots(web.id), cluster.snapshots(db.id)
    assert web_snap.clone_refusal is not None and REFUSAL in web_snap.clone_refusal
    assert db_snap.clone_refusal is None
    with pytest.raises(NotSupported, match=REFUSAL):  # what the panel says is what it does
        cluster.clone(web.id, CloneSpec("web1-copy", "pve1", snapshot="s1"))
    task = wait(cluster, cluster.clone(db.id, CloneSpec("db1-copy", "pve1", snapshot="s1")))
    assert task.status is TaskStatus.OK, task.error


async def _panel_on(pilot, cluster: str, guest_id: str) -> SnapshotPanel:
    tree = pilot.app.query_one(ClusterTree)
    await wait_until(pilot, lambda: tree.select_ref(TreeRef(cluster, guest_id)), 10,
                     "the guest in the tree")
    tree.focus()
    await act(pilot, "S")
    panel = pilot.app.screen
    assert isinstance(panel, SnapshotPanel)
    await wait_until(pilot, lambda: panel.snapshots, 10, "the snapshots listed")
    await act(pilot, "down")  # onto the snapshot
    return panel


async def test_the_console_offers_a_snapshot_clone_only_where_libvirt_can(monkeypatch,
                                                                           tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # the audit log goes there
    backend = open_libvirt(LibvirtCluster("kvm", (PVE1, PVE2), timeout=3.0))
    web, db = guest_named(backend, "web1"), guest_named(backend, "db1")
    for guest in (web, db):
        assert wait(backend, backend.snapshot_create(guest.id, "s1")).status is TaskStatus.OK
    async with live_console(backend) as pilot:
        app = pilot.app
        panel = await _panel_on(pilot, "kvm", web.id)
        assert f"No clone: {REFUSAL}" in shown_text(app)
        await act(pilot, "c")
        await wait_until(pilot, lambda: any(REFUSAL in n for n in notes(app)), 5,
                         "the refusal as a notification")
        assert app.screen is panel  # no form that would end in a refusal
        await act(pilot, "escape")
        await act(pilot, "c")  # Clone on the running guest: its only snapshot will not do
        await wait_until(pilot, lambda: any(
            "web1 is running: shut it down to clone it" in n for n in notes(app)), 5,
            "why a running guest with disks cannot be cloned")
        assert not isinstance(app.screen, CloneForm)

        panel = await _panel_on(pilot, "kvm", db.id)
        assert "No clone" not in shown_text(app)
        await act(pilot, "c")
        form = app.screen
        assert isinstance(form, CloneForm)
        assert form.query_one("#snapshot").value == "s1"
