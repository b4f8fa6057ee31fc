"""Two copies of one libvirt guest in the console: two rows, each flagged with the
reason, the detail pane of the row under the cursor, and `s` on the stopped copy
refused before it reaches the backend, saying where the other copy runs."""

from __future__ import annotations

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from tests.libvirt.conftest import FIXTURES, PVE1
from tests.ui_ops.helpers import act, notes, settle
from vmconsole.backends.libvirt import open_libvirt
from vmconsole.config import LibvirtCluster
from vmconsole.model import GuestStatus
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.messages import ClusterPolled
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef

from .test_console import facts

KVM3 = f"test://{FIXTURES / 'kvm3.xml'}"
DB1 = "11111111-0000-4000-8000-000000000002"


async def test_each_copy_is_its_own_row_and_starting_one_is_refused_where_the_other_runs():
    backend = open_libvirt(LibvirtCluster("kvm", (PVE1, KVM3), timeout=3.0))
    loop = PollLoop(Poller(backend, interval=1.0))
    app = VMConsoleApp([loop])
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            result = loop.poller.poll()
            loop.latest = result
            app.post_message(ClusterPolled(result))
            await settle(pilot)
            tree = app.query_one(ClusterTree)
            labels = {}
            for node in ("pve1", "kvm3"):
                assert tree.select_ref(TreeRef("kvm", f"vm/{DB1}@{node}"))
                await pilot.pause()
                labels[node] = str(tree.cursor_node.label)
            assert labels["pve1"].startswith("▶ db1 vm") and labels["pve1"].endswith(
                " ⧉same UUID on kvm3")
            assert labels["kvm3"].startswith("■ db1 vm") and labels["kvm3"].endswith(
                " ⧉same UUID on pve1")
            text = " ".join(facts(app).split())  # kvm3's copy is under the cursor
            assert (f"Duplicate the same UUID {DB1} is also defined on pve1 (running "
                    "there); a migration without --undefinesource leaves such a copy "
                    "behind") in text
            assert "Node kvm3" in text and "Status stopped" in text
            tree.focus()
            await act(pilot, "s")
            assert ("db1 already runs on pve1 (the same UUID): starting this copy on kvm3 "
                    "would run one guest twice on the same disks") in notes(app)
            assert backend.tasks() == []
            copy = backend.inventory().guest(f"vm/{DB1}@kvm3")
            assert copy is not None and copy.status is GuestStatus.STOPPED
    finally:
        backend.close()
