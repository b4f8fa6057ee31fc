"""A large cluster's tree adds a node's guests when the node comes near the screen, yet
the user sees every guest where it belongs: on the first screen, scrolling down, at the
end (G), when selected by id, through the filter, and after polls changed them while
they were not yet in the tree (issue 12). A node's storages come with its guests."""

from __future__ import annotations

from textual.widgets.tree import TreeNode

from vmconsole.model import GuestStatus
from vmconsole.ui.labels import guest_label
from vmconsole.ui.widgets.cluster_branch import guest_order
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef

NODES, GUESTS = 20, 2000  # 100 guests a node: one node fills more than a screen


def lines(tree: ClusterTree) -> list[TreeNode[TreeRef]]:
    return [tree.get_node_at_line(i) for i in range(tree.last_line + 1)]


def guests_in_order(c, node: str) -> list[str]:
    inventory = c.loop.poller.inventory
    return [g.id for g in sorted(inventory.guests_on(node), key=guest_order)]


def assert_no_empty_node_on_screen(tree: ClusterTree, c) -> None:
    """Every expanded node on screen is followed by its own first guest."""
    top = int(tree.scroll_offset.y)
    shown = lines(tree)[top:top + tree.size.height]
    for i, tn in enumerate(shown):
        ref = tn.data
        if ref is None or not ref.is_node or not tn.is_expanded:
            continue
        expected = guests_in_order(c, ref.object_id.removeprefix("node/"))
        if expected and i + 1 < len(shown):
            assert shown[i + 1].data == TreeRef("lab", expected[0]), str(tn.label)


async def test_the_first_screen_holds_the_first_node_s_guests_not_all(console_factory):
    c = console_factory(nodes=NODES, guests=GUESTS)
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        assert tree.guest_count() == GUESTS  # every guest is listed...
        drawn = lines(tree)
        assert len(drawn) < GUESTS // 4  # ...but only those near the screen are drawn
        first = guests_in_order(c, "pve1")
        assert [tn.data.object_id for tn in drawn[2:2 + len(first)]] == first
        assert_no_empty_node_on_screen(tree, c)


async def test_paging_down_never_shows_a_node_without_its_guests(console_factory):
    c = console_factory(nodes=NODES, guests=GUESTS)
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        for _ in range(12):
            await pilot.press("pagedown")
            await pilot.pause()
            assert_no_empty_node_on_screen(tree, c)
        assert tree.guest_count() == GUESTS


async def test_g_goes_to_the_last_guest_of_the_last_node(console_factory):
    c = console_factory(nodes=NODES, guests=GUESTS)
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        await pilot.press("G")
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        # the last line is the cluster's shared storage; the last node's guests come
        # before its own storage, as in Proxmox's tree
        assert tree.cursor_node.data == TreeRef("lab", "storage/san")
        ids = [tn.data.object_id for tn in lines(tree)]
        last = guests_in_order(c, f"pve{NODES}")[-1]
        assert ids[ids.index(last) + 1:] == [f"storage/pve{NODES}/local-lvm",
                                             f"storage/pve{NODES}/local", "storage/san"]
        assert len(ids) == 1 + NODES + GUESTS + 2 * NODES + 1  # local-lvm and local
        assert_no_empty_node_on_screen(tree, c)


async def test_a_guest_far_down_is_selected_by_id(console_factory):
    c = console_factory(nodes=NODES, guests=GUESTS)
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        target = TreeRef("lab", guests_in_order(c, f"pve{NODES - 2}")[5])
        assert tree.select_ref(target)
        await pilot.pause()
        assert tree.cursor_node.data == target and c.app.selected == target
        assert_no_empty_node_on_screen(tree, c)


async def test_a_storage_far_down_is_selected_by_id_under_its_node_after_its_guests(
        console_factory):
    c = console_factory(nodes=NODES, guests=GUESTS)
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        node = f"pve{NODES - 2}"
        ids = [tn.data.object_id for tn in lines(tree)]
        # a node far down has its row; its guests and storages come when it fills
        assert f"node/{node}" in ids and f"storage/{node}/local" not in ids
        target = TreeRef("lab", f"storage/{node}/local")
        assert tree.select_ref(target)
        await pilot.pause()
        assert tree.cursor_node.data == target and c.app.selected == target
        ids = [tn.data.object_id for tn in lines(tree)]
        at = ids.index(f"node/{node}")
        guests = guests_in_order(c, node)
        assert ids[at + 1:at + 3 + len(guests)] == [
            *guests, f"storage/{node}/local-lvm", f"storage/{node}/local"]
        assert_no_empty_node_on_screen(tree, c)


async def test_a_guest_changed_before_its_node_filled_shows_as_it_is(console_factory):
    c = console_factory(nodes=NODES, guests=GUESTS)
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        inventory = c.loop.poller.inventory
        guest = next(g for g in inventory.guests_on(f"pve{NODES}")
                     if g.status is GuestStatus.RUNNING and not g.template)
        c.loop.backend.stop(guest.id)
        for _ in range(5):
            c.poll(advance=5.0)
            await pilot.pause()
        now = c.loop.poller.inventory.guests_by_id()[guest.id]
        assert now.status is GuestStatus.STOPPED
        tree = c.app.query_one(ClusterTree)
        assert tree.select_ref(TreeRef("lab", guest.id))
        await pilot.pause()
        shown = tree.cursor_node.label
        assert shown.plain == guest_label(now, tree.symbols, tree.styles_).plain


async def test_the_filter_finds_a_guest_on_a_node_far_down(console_factory):
    c = console_factory(nodes=NODES, guests=GUESTS)
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        inventory = c.loop.poller.inventory
        target = inventory.guests_by_id()[guests_in_order(c, f"pve{NODES}")[-1]]
        await pilot.press("slash", *target.name)
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        wanted = [g for g in inventory.guests if target.name.lower() in g.name.lower()]
        assert tree.guest_count() == len(wanted)
        assert target.id in {tn.data.object_id for tn in lines(tree)}
