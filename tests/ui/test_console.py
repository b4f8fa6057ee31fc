"""The console as a user meets it: the demo tree, navigation, filter, detail, graphs."""

from __future__ import annotations

from dataclasses import fields

from rich.console import Console
from rich.text import Text
from textual.widgets import Static

from vmconsole.model import Guest, GuestKind, GuestStatus
from vmconsole.ui.labels import guest_label
from vmconsole.ui.styles import LabelStyles
from vmconsole.ui.symbols import ASCII, UNICODE, detect_ascii
from vmconsole.ui.widgets.cluster_tree import ClusterTree
from vmconsole.ui.widgets.detail_pane import DetailPane
from vmconsole.ui.widgets.metric_chart import MetricChart


def tree_lines(app) -> list[str]:
    tree = app.query_one(ClusterTree)
    return [str(tree.get_node_at_line(i).label) for i in range(tree.last_line + 1)]


def facts(app) -> str:
    """The detail pane's facts table as plain text."""
    console = Console(width=100, record=True)
    console.print(app.query_one(DetailPane).query_one("#facts", Static).content)
    return console.export_text()


async def test_demo_tree_shows_cluster_nodes_and_guests(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        lines = tree_lines(c.app)
        assert lines[0].startswith("lab") and "quorate 3/3" in lines[0]
        for node in ("pve1", "pve2", "pve3"):
            assert any(node in line for line in lines)
        inventory = c.loop.poller.inventory
        assert c.app.query_one(ClusterTree).guest_count() == len(inventory.guests)
        assert sum("template" in line for line in lines) >= 2
        assert any(" ct" in line for line in lines) and any(" vm" in line for line in lines)


async def test_a_cluster_is_in_the_tree_connecting_before_its_first_poll_ends(
        console_factory):
    """A tester's finding: a Proxmox cluster whose API took its whole timeout was not in
    the tree at all until that first poll ended (the README promised `connecting…`)."""
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert tree_lines(c.app) == ["lab connecting…"]
        c.poll()
        await pilot.pause()
        assert tree_lines(c.app)[0].startswith("lab quorate 3/3")


async def test_cursor_keys_select_and_detail_follows(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        assert "Quorum" in facts(c.app)  # the cluster is selected first
        await pilot.press("j")
        assert "Node" in facts(c.app) and "pve1" in facts(c.app)
        await pilot.press("j")
        text = facts(c.app)
        assert "Status" in text and "vCPUs" in text and "HA" in text


async def test_graphs_change_as_the_clock_moves(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        await pilot.press("j", "j")  # the first guest of pve1
        ref = c.app.selected
        assert ref is not None and not ref.is_node and not ref.is_cluster
        for _ in range(5):
            c.poll(advance=2.0)
            await pilot.pause()
        chart = c.app.query_one("#chart-cpu", MetricChart)
        first = str(chart.render())
        samples = c.loop.poller.samples(ref.object_id)
        assert len(samples) == 6
        assert len({round(s.cpu, 4) for s in samples}) > 1, "the load model must move"
        for _ in range(5):
            c.poll(advance=2.0)
            await pilot.pause()
        assert str(chart.render()) != first


async def test_filter_by_name_shows_only_matches(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        inventory = c.loop.poller.inventory
        target = next(g for g in inventory.guests if not g.template)
        await pilot.press("slash")
        await pilot.press(*target.name)
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        names = [g.name for g in inventory.guests if target.name.lower() in g.name.lower()]
        assert tree.guest_count() == len(names) < len(inventory.guests)
        await pilot.press("escape")
        await pilot.pause()
        assert tree.guest_count() == len(inventory.guests)


async def test_clearing_the_filter_opens_and_closes_nodes_as_before_it(console_factory):
    """A tester's finding: nodes the filter had hidden came back closed once it was
    cleared; and one the user had closed came back open, the filter having opened it."""
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        inventory = c.loop.poller.inventory
        tree = c.app.query_one(ClusterTree)
        nodes = {n.id: n.name for n in inventory.nodes}
        closed, *opened = sorted(nodes)
        target = next(g for g in inventory.guests if not g.template
                      and f"node/{g.node}" == closed)
        # the filter hides every node but `closed`'s, then opens it
        assert {f"node/{g.node}" for g in inventory.guests
                if target.name.lower() in g.name.lower()} == {closed}
        branch = tree._branches[inventory.cluster]
        branch.nodes[closed].collapse()
        await pilot.pause()

        def open_nodes() -> dict[str, bool]:
            return {k: branch.nodes[k].is_expanded for k in nodes if k in branch.nodes}

        before = open_nodes()
        assert before == {closed: False, **{k: True for k in opened}}
        await pilot.press("slash", *target.name)
        await pilot.pause()
        assert open_nodes() == {closed: True}
        await pilot.press("escape")
        await pilot.pause()
        assert open_nodes() == before


async def test_help_lists_remapped_keys(console_factory, tmp_path):
    from vmconsole.config import parse_config

    config = parse_config({"keys": {"app.tasks": "f2"}})  # T is Convert to template
    c = console_factory(config=config)
    async with c.app.run_test(size=(100, 30)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        console = Console(width=100, record=True)
        for widget in c.app.screen.query(Static):
            console.print(widget.content)
        screen_text = console.export_text()
        assert "app.tasks" in screen_text
        await pilot.press("escape")
        await pilot.press("f2")
        assert c.app.query_one("#tasks").has_class("visible")


async def test_new_guest_and_status_change_update_the_tree_by_diff(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        stopped = next(g for g in c.loop.poller.inventory.guests
                       if g.status is GuestStatus.STOPPED and not g.template)
        node_before = tree._branches["lab"].nodes[stopped.id]
        c.backend.start(stopped.id)
        for _ in range(30):
            c.poll(advance=1.0)
            await pilot.pause()
        guest = c.loop.poller.inventory.guest(stopped.id)
        assert guest.status is GuestStatus.RUNNING
        label = tree._branches["lab"].nodes[stopped.id].label
        assert str(label).startswith(UNICODE.running)
        assert tree._branches["lab"].nodes[stopped.id] is node_before  # relabelled in place


def test_labels_are_text_not_markup():
    guest = Guest("qemu/1", "[bold]x", GuestKind.VM, "n", GuestStatus.RUNNING, vmid=1)
    label = guest_label(guest, ASCII, LabelStyles.from_variables({}))
    assert isinstance(label, Text) and "[bold]x" in label.plain
    assert label.plain.startswith(ASCII.running)


def test_ascii_fallback_for_plain_terminals():
    assert detect_ascii({"TERM": "linux", "LANG": "en_US.UTF-8"})
    assert detect_ascii({"TERM": "xterm", "LANG": "C"})
    assert not detect_ascii({"TERM": "xterm-256color", "LANG": "en_US.UTF-8"})


async def test_a_tree_row_cut_at_the_edge_ends_in_an_ellipsis(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(80, 24)) as pilot:
        c.poll()
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        shown = tree.scrollable_content_region.width  # the scroll bar covers the rest
        rows = [tree.render_line(y).text[:shown].rstrip() for y in range(tree.size.height)]
        assert "│ ├ ◇ 9001 debian12-ct-templ…" in rows
        assert "│ ├ ▶ 100 web1 vm ♥started" in rows  # whole: no mark


async def test_a_cut_tree_row_shows_nothing_of_the_name_past_its_mark(console_factory):
    """A tester's finding: at 80x24 the first frame, drawn before the scroll bar that
    covers a row's last cells, showed `9001 debian12-ct-templ…te`. The whole row, those
    cells too, is what such a frame shows."""
    c = console_factory()
    async with c.app.run_test(size=(80, 24)) as pilot:
        c.poll()
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        assert tree.scrollable_content_region.width < tree.size.width, "no scroll bar"
        rows = [tree.render_line(y).text.rstrip() for y in range(tree.size.height)]
        assert "│ ├ ◇ 9001 debian12-ct-templ…" in rows, rows
        assert "│ ├ ◇ 9000 debian12-template…" in rows, rows


async def test_in_ascii_a_tree_row_cut_at_the_edge_ends_in_ascii(console_factory):
    """A tester's finding: with LANG=C or --ascii a cut row still ended in `…`."""
    c = console_factory(ascii=True)
    async with c.app.run_test(size=(80, 24)) as pilot:
        c.poll()
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        shown = tree.scrollable_content_region.width
        rows = [tree.render_line(y).text[:shown].rstrip() for y in range(tree.size.height)]
        assert "| | T 9001 debian12-ct-tem..." in rows, rows
        assert not any("…" in row for row in rows)


async def test_in_ascii_the_tree_opens_and_closes_with_ascii_toggles(console_factory):
    """A tester's finding: with --ascii the tree's clusters and nodes still had Textual's
    `▼` and `▶` before them."""
    c = console_factory(ascii=True)
    async with c.app.run_test(size=(80, 24)) as pilot:
        c.poll()
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)

        def rows() -> list[str]:
            shown = tree.scrollable_content_region.width
            return [tree.render_line(y).text[:shown].rstrip() for y in range(tree.size.height)]

        assert rows()[:2] == ["[-] lab quorate 3/3", "| [-] @ pve1"], rows()
        assert not any("▼" in row or "▶" in row for row in rows())
        await pilot.press("h")  # the cursor is on the cluster: it closes
        await pilot.pause()
        assert [row for row in rows() if row] == ["[+] lab quorate 3/3"]


async def test_in_ascii_an_online_node_and_a_marked_guest_have_marks_of_their_own(
        console_factory):
    c = console_factory(guests=4, ascii=True)
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        guest = next(g for g in c.loop.poller.inventory.guests if not g.template)
        tree = c.app.query_one(ClusterTree)
        tree.marks.marked.add(("lab", guest.id))
        tree.action_mark_shown()  # redraws the marks: every guest shown marked
        await pilot.pause()
        lines = [line.lstrip("│├└▼▶ ") for line in tree_lines(c.app)]
        assert "@ pve1" in lines
        assert any(line.startswith(f"* {ASCII.running} ") for line in lines)
    for symbols in (ASCII, UNICODE):
        marks = [getattr(symbols, f.name) for f in fields(symbols) if f.name != "ascii"]
        assert len(set(marks)) == len(marks), f"two meanings share a mark: {marks}"


async def test_a_migrated_guest_stays_selected_under_its_new_node(console_factory):
    from vmconsole.backends.base import MigrationMode
    from vmconsole.ui.widgets.cluster_tree import TreeRef

    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        tree.select_ref(TreeRef("lab", "qemu/100"))
        await pilot.pause()
        c.backend.migrate("qemu/100", "pve2", MigrationMode.LIVE)
        for _ in range(40):
            c.poll(advance=1.0)
            await pilot.pause()
        assert c.loop.poller.inventory.guest("qemu/100").node == "pve2"
        assert c.app.selected == TreeRef("lab", "qemu/100")
        assert tree.cursor_node.parent.data == TreeRef("lab", "node/pve2")
        assert "pve2" in facts(c.app)


async def test_on_a_short_terminal_bottom_panels_take_turns(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(80, 24)) as pilot:
        c.poll()
        await pilot.pause()
        teaching, tasks = c.app.query_one("#teaching"), c.app.query_one("#tasks")
        assert teaching.has_class("visible")
        await pilot.press("t")
        assert tasks.has_class("visible") and not teaching.has_class("visible")
        await pilot.press("e")
        assert teaching.has_class("visible") and not tasks.has_class("visible")
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        assert c.app.query_one("#tasks").has_class("visible")
        assert c.app.query_one("#teaching").has_class("visible")  # room for both


async def test_on_a_short_terminal_a_second_operation_leaves_the_events_to_come_back(
        console_factory):
    from tests.ui_ops.helpers import wait_until
    from vmconsole.ui.widgets.cluster_tree import TreeRef

    # A tester's finding: two operations in a row each showed the task log, the second
    # forgot that the first had hidden the events panel, and `t` then left neither.
    c = console_factory()
    async with c.app.run_test(size=(80, 24)) as pilot:
        c.poll()
        await pilot.pause()
        teaching, tasks = c.app.query_one("#teaching"), c.app.query_one("#tasks")
        tree = c.app.query_one(ClusterTree)
        shown: list[str | None] = []  # the panels shown, to wait for each operation's
        show_panel = c.app.show_panel
        c.app.show_panel = lambda panel, show=None: (shown.append(panel.id),
                                                     show_panel(panel, show))[1]
        for turn, (guest, keys) in enumerate((("qemu/103", "s"), ("qemu/100", "Xy")), 1):
            assert tree.select_ref(TreeRef("lab", guest))  # test1 started, web1 stopped
            await pilot.pause()
            for key in keys:
                await pilot.press(key)
                await pilot.pause()
            await wait_until(pilot, lambda n=turn: shown.count("tasks") == n, 10, guest)
            assert tasks.has_class("visible") and not teaching.has_class("visible")
        await pilot.press("t")
        assert teaching.has_class("visible") and not tasks.has_class("visible")
