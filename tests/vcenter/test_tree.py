"""vCenter's inventory in the console's tree, as vSphere admins know it: the vCenter →
datacenter → vSphere cluster → host → VM, a standalone host in its datacenter; the
detail pane of a vSphere cluster and of a VM in vSphere's terms."""

from __future__ import annotations

from tests.ui_ops.helpers import screen_text, select_in
from tests.vcenter.test_console import poll
from vmconsole.backends.vcenter import VCenterBackend
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef

# Two datacenters, each with a vSphere cluster of three hosts and a standalone host.
VCSIM_ARGS = ("-vm", "2", "-dc", "2", "-standalone-host", "1")


def tree_rows(app: VMConsoleApp) -> dict[str, tuple[str, str | None]]:
    """Each row's object id -> (its label, its parent's object id)."""
    tree = app.query_one(ClusterTree)
    rows = {}
    for line in range(tree.last_line + 1):
        node = tree.get_node_at_line(line)
        if node is not None and node.data is not None:
            parent = node.parent.data.object_id if node.parent and node.parent.data else None
            rows[node.data.object_id] = (node.label.plain, parent)
    return rows


async def test_the_tree_is_datacenter_cluster_host_vm(backend: VCenterBackend) -> None:
    inventory = backend.inventory()
    ids = {c.name: c.id for c in inventory.containers}
    loop = PollLoop(Poller(backend, interval=3600))
    app = VMConsoleApp([loop])
    async with app.run_test(size=(100, 60)) as pilot:
        await poll(pilot, loop)
        rows = tree_rows(app)
        for dc in ("DC0", "DC1"):
            assert rows[ids[dc]] == (f"{dc} datacenter", "cluster")
            assert rows[ids[f"{dc}_C0"]] == (f"{dc}_C0 vSphere cluster", ids[dc])
            for i in range(3):
                label, parent = rows[f"node/{dc}_C0_H{i}"]
                assert f"{dc}_C0_H{i}" in label and parent == ids[f"{dc}_C0"]
            label, parent = rows[f"node/{dc}_H0"]  # standalone: right in its datacenter
            assert "DC" in label and parent == ids[dc]
        for guest in inventory.guests:
            assert guest.name in rows[guest.id][0] and rows[guest.id][1] == f"node/{guest.node}"
        # h closes an open row, then goes up: host, its vSphere cluster, its datacenter.
        tree = app.query_one(ClusterTree)
        assert tree.select_ref(TreeRef("vc", "node/DC1_C0_H2"))
        tree.focus()
        await pilot.pause()
        await pilot.press("h", "h")
        assert app.selected == TreeRef("vc", ids["DC1_C0"])
        await pilot.press("h", "h")
        assert app.selected == TreeRef("vc", ids["DC1"])


async def test_a_vsphere_cluster_and_its_vms_speak_vsphere(backend: VCenterBackend) -> None:
    inventory = backend.inventory()
    cluster = next(c for c in inventory.containers if c.name == "DC0_C0")
    guest = next(g for g in inventory.guests if g.node.startswith("DC0_C0"))
    loop = PollLoop(Poller(backend, interval=3600))
    app = VMConsoleApp([loop])
    async with app.run_test(size=(110, 40)) as pilot:
        await poll(pilot, loop)
        assert app.query_one(ClusterTree).select_ref(TreeRef("vc", cluster.id))
        await pilot.pause()
        shown = " ".join(screen_text(app).split())
        assert "Name DC0_C0 Type vSphere cluster In DC0 (datacenter) Nodes 3 online of 3" in shown
        assert "vSphere HA not reported by vCenter" in shown and "DRS on" in shown
        assert "Recommendations none" in shown  # vcsim's DRS recommends nothing

        await select_in(pilot, loop, guest.name)
        await pilot.pause()
        shown = " ".join(screen_text(app).split())
        assert ("vSphere HA not reported by vCenter for its cluster: its restart priority "
                "is kept") in shown
        assert "Restart priority the cluster's default (not reported by vCenter)" in shown
        assert "Cluster DC0_C0: vSphere HA not reported by vCenter; DRS on" in shown
        assert "max_restart" not in shown and "HA request" not in shown


async def test_a_renamed_cluster_is_shown_renamed_and_its_name_is_data(
        backend: VCenterBackend, request) -> None:
    """vCenter's names are untrusted text: a cluster renamed (Rename_Task) to markup, a
    C1 control sequence introducer, a bidi override and a zero-width space (SOAP's XML
    carries no C0 control) is shown literally, its row rebuilt on the next poll."""
    import time

    from pyVmomi import vim

    from vmconsole.text import visible

    hostile = "[bold red]C1\x9b31m\u202e\u200b"
    inventory = backend.inventory()
    cluster = next(c for c in inventory.containers if c.name == "DC1_C0")
    loop = PollLoop(Poller(backend, interval=3600))
    app = VMConsoleApp([loop])
    async with app.run_test(size=(110, 60)) as pilot:
        await poll(pilot, loop)
        assert tree_rows(app)[cluster.id][0] == "DC1_C0 vSphere cluster"

        def rename(name: str) -> None:
            def call(content) -> object:
                moid = cluster.id.removeprefix("container/")
                ref = vim.ClusterComputeResource(moid, content.rootFolder._stub)
                return ref.Rename_Task(newName=name)

            backend.session.call("rename a cluster", call)
            deadline = time.monotonic() + 20
            while backend.inventory().container(cluster.id).name != name:
                assert time.monotonic() < deadline, "vcsim did not rename the cluster"
                time.sleep(0.1)

        rename(hostile)
        request.addfinalizer(lambda: rename("DC1_C0"))  # the module's vcsim is shared
        await poll(pilot, loop)
        label, parent = tree_rows(app)[cluster.id]
        assert label == f"{visible(hostile)} vSphere cluster"
        assert not {"\x9b", "\u202e", "\u200b"} & set(label)
        assert parent == next(c.id for c in inventory.containers if c.name == "DC1")
        # Its hosts are still under it after the rebuild.
        assert tree_rows(app)["node/DC1_C0_H0"][1] == cluster.id
        assert app.query_one(ClusterTree).select_ref(TreeRef("vc", cluster.id))
        await pilot.pause()
        shown = screen_text(app)
        assert visible(hostile) in shown and not {"\x9b", "\u202e", "\u200b"} & set(shown)


async def test_the_ha_key_on_a_vm_of_a_standalone_host_says_why_not(
        backend: VCenterBackend) -> None:
    from tests.ui_ops.helpers import act, notes
    from vmconsole.actor import Actor, Role
    from vmconsole.ui.modals.vsphere_ha import VSphereHAForm

    guest = next(g for g in backend.inventory().guests if g.node == "DC0_H0")
    loop = PollLoop(Poller(backend, interval=3600))
    app = VMConsoleApp([loop], actor=Actor("alice", Role.OPERATOR, "local"))
    async with app.run_test(size=(110, 40)) as pilot:
        await poll(pilot, loop)
        await select_in(pilot, loop, guest.name)
        await act(pilot, "H")
        assert not isinstance(app.screen, VSphereHAForm)
        assert any("runs on a standalone host: vSphere HA works in a vSphere cluster" in t
                   for t in notes(app))


async def test_a_filter_keeps_only_the_levels_above_what_matches(
        backend: VCenterBackend) -> None:
    inventory = backend.inventory()
    guest = next(g for g in inventory.guests if g.node.startswith("DC1_C0"))
    ids = {c.name: c.id for c in inventory.containers}
    loop = PollLoop(Poller(backend, interval=3600))
    app = VMConsoleApp([loop])
    async with app.run_test(size=(110, 40)) as pilot:
        await poll(pilot, loop)
        app.query_one(ClusterTree).set_filter(guest.name)
        await pilot.pause()
        assert tree_rows(app) == {
            "cluster": (tree_rows(app)["cluster"][0], None),
            ids["DC1"]: ("DC1 datacenter", "cluster"),
            ids["DC1_C0"]: ("DC1_C0 vSphere cluster", ids["DC1"]),
            f"node/{guest.node}": (tree_rows(app)[f"node/{guest.node}"][0], ids["DC1_C0"]),
            guest.id: (tree_rows(app)[guest.id][0], f"node/{guest.node}"),
        }
        app.query_one(ClusterTree).set_filter("")
        await pilot.pause()
        rows = tree_rows(app)  # the datacenters and clusters come back open
        assert all(c.id in rows for c in inventory.containers)
        assert all(f"node/{n.name}" in rows for n in inventory.nodes)
