"""Storage in the tree, as Proxmox's web UI lists it: each node's storage under it after
its guests, storage every node shares once under the cluster; used/total on the row,
an unavailable one said so, and its facts in the detail pane (issue 15)."""

from __future__ import annotations

from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef
from vmconsole.ui.widgets.detail_pane import DetailPane


def facts(app) -> str:
    return str(app.query_one(DetailPane).query_one("#facts").render())


async def test_storage_rows_sit_under_their_node_and_the_cluster(console_factory):
    c = console_factory(nodes=2, guests=4)
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        branch = tree.root.children[0]
        assert [tn.data.object_id for tn in branch.children] == [
            "node/pve1", "node/pve2", "storage/san"]
        pve1 = branch.children[0]
        kinds = [tn.data.object_id.split("/")[0] for tn in pve1.children]
        stored = kinds.index("storage")  # the node's storages (local, local-lvm), after its guests
        assert set(kinds[:stored]) <= {"qemu", "lxc"} and set(kinds[stored:]) == {"storage"}
        inv = c.loop.poller.inventory
        local = next(s for s in inv.storages if s.id == "storage/pve1/local-lvm")
        label = str(next(tn for tn in pve1.children if tn.data.object_id == local.id).label)
        assert label.startswith("local-lvm storage ") and " of " in label and "%" in label
        assert str(branch.children[-1].label).startswith("san storage shared ")

        assert tree.select_ref(TreeRef("lab", local.id))
        await pilot.pause()
        text = facts(c.app)
        assert "local to pve1" in text and "Usage" in text and "State" in text
        assert "active" in text

        for node in c.backend.sim.nodes.values():  # every node loses the shared LUN
            node.storage_ok = False
        c.poll(1.0)
        await pilot.pause()
        assert str(branch.children[-1].label) == "san storage shared unavailable"
        assert tree.select_ref(TreeRef("lab", "storage/san"))
        await pilot.pause()
        assert "unavailable" in facts(c.app) and "shared by every node" in facts(c.app)


async def test_a_filter_lists_guests_only(console_factory):
    c = console_factory(nodes=2, guests=4)
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        tree.set_filter("1")
        await pilot.pause()
        ids = [tree.get_node_at_line(i).data.object_id for i in range(tree.last_line + 1)]
        assert not [i for i in ids if i.startswith("storage/")]
        assert tree.guest_count() == sum(1 for i in ids if "/" in i and not i.startswith(
            ("node/", "storage/")))
