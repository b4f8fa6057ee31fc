"""Maintenance of a libvirt node on the real lab: `M` on pve1 shows the plan (vm1, a
running TCG guest, live-migrated to pve2; the template stays), then pve1 is in the
console's maintenance record, vm1 really runs on pve2, the tree says `maintenance`, and
the migrate form offers pve1 to no guest until `M` ends it.

A two-node lab of its own, one guest, built once for the module."""

from __future__ import annotations

import re
import time

import pytest

from tests.lab.built import BuiltLab, LabShape
from tests.lab.requires import skip_unless_a_lab_can_be_built

pytestmark = [pytest.mark.lab, pytest.mark.timeout(400)]

skip_unless_a_lab_can_be_built()

from vmconsole.backends import open_backend  # noqa: E402
from vmconsole.config import LibvirtCluster  # noqa: E402
from vmconsole.model import GuestStatus, NodeStatus  # noqa: E402
from vmconsole.ui.modals.bulk import BulkConfirmScreen  # noqa: E402
from vmconsole.ui.modals.migrate import MigrateForm  # noqa: E402
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef  # noqa: E402

from ..ui_ops.helpers import live_console, shown_text, tree_label, wait_until  # noqa: E402

LAB = LabShape(nodes=2)


@pytest.fixture(scope="module")
def lab(built_lab: BuiltLab) -> LibvirtCluster:
    return built_lab.cluster


def ready(backend) -> bool:
    """Both nodes answer and vm1 runs on pve1 (a booting TCG guest can keep its
    libvirtd's answers waiting)."""
    inventory = backend.inventory()
    vm1 = next((g for g in inventory.guests if g.name == "vm1"), None)
    return (all(n.status is NodeStatus.ONLINE for n in inventory.nodes) and vm1 is not None
            and vm1.node == "pve1" and vm1.status is GuestStatus.RUNNING)


async def test_maintenance_empties_a_libvirt_node_by_its_plan(lab, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # the audit log and the record
    backend = open_backend(lab)
    deadline = time.monotonic() + 90
    while not ready(backend):
        assert time.monotonic() < deadline, "the lab never had vm1 running on pve1"
        time.sleep(0.5)
    async with live_console(backend) as pilot:
        app = pilot.app
        tree = app.query_one(ClusterTree)
        await wait_until(pilot, lambda: tree.select_ref(TreeRef(lab.name, "node/pve1")), 30,
                         "pve1 in the tree")
        tree.focus()
        await pilot.press("M")
        await wait_until(pilot, lambda: isinstance(app.screen, BulkConfirmScreen), 30,
                         "the plan")
        text = shown_text(app)
        assert "vm1 (" in text and "TOPSIS score " in text
        [target] = re.findall(r"vm1 \(.*?live migration to (pve[23])", text)
        assert "a template: it runs nowhere" in text
        await pilot.press("y")
        await wait_until(pilot, lambda: "maintenance" in tree_label(app, "pve1"), 30,
                         "pve1 in maintenance in the tree")

        def vm1_moved() -> bool:
            inventory = app.latest[lab.name].inventory
            vm1 = next(g for g in inventory.guests if g.name == "vm1")
            return vm1.node == target and vm1.status is GuestStatus.RUNNING

        def what_happened() -> object:
            polled = app.latest[lab.name]
            vm1 = next(g for g in polled.inventory.guests if g.name == "vm1")
            return (vm1.node, str(vm1.status), polled.error,
                    [(t.operation, t.target, str(t.status), t.error) for t in polled.tasks])

        await wait_until(pilot, vm1_moved, 180, f"vm1 running on {target}", what_happened)
        vm1 = next(g for g in app.latest[lab.name].inventory.guests if g.name == "vm1")
        await wait_until(pilot, lambda: tree.select_ref(TreeRef(lab.name, vm1.id)), 10, "vm1")
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, MigrateForm), 30, "the form")
        assert "in maintenance" in shown_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: tree.select_ref(TreeRef(lab.name, "node/pve1")), 10,
                         "pve1")
        await pilot.press("M")
        await wait_until(pilot, lambda: "maintenance" not in tree_label(app, "pve1"), 30,
                         "pve1 out of maintenance")
