"""Keys as the README and `?` promise them: the tree's expand and collapse, Enter on a
form's checkbox, console keys next to the ping panel's address box, the Tab order and
the focused pane's highlight, and the keys a [keys] remap gives, in the help's words
and in the text boxes."""

from __future__ import annotations

import pytest
from textual import events
from textual.color import Color
from textual.widgets import Input, Static

from tests.ui_ops.helpers import act, on_guest, settle, shown_text, wait_until
from vmconsole.actor import Actor, Role
from vmconsole.audit import AuditLog
from vmconsole.config import Config
from vmconsole.ui.modals.create_from_template import CreateFromTemplateForm
from vmconsole.ui.modals.form import FormCheckbox
from vmconsole.ui.modals.snapshot_create import SnapshotCreateForm
from vmconsole.ui.modals.snapshots import SnapshotPanel
from vmconsole.ui.widgets.address_box import AddressBox
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef


def cursor(app) -> str:
    ref = app.query_one(ClusterTree).selected_ref()
    return ref.object_id if ref else ""


@pytest.mark.parametrize(("expand", "collapse"), [("l", "h"), ("right", "left")])
async def test_expand_and_collapse_in_the_tree(console_factory, expand, collapse):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        assert tree.select_ref(TreeRef("lab", "node/pve1"))
        await pilot.pause()
        pve1 = tree.cursor_node
        assert pve1 is not None and pve1.is_expanded
        await pilot.press(collapse)
        assert not pve1.is_expanded, "collapse on an open node closes it"
        await pilot.press(collapse)
        assert cursor(c.app) == "cluster", "collapse on a closed node goes to its parent"
        await pilot.press("down", expand)
        assert pve1.is_expanded, "expand on a closed node opens it"
        await pilot.press(expand)
        first_guest = pve1.children[0].data
        assert first_guest is not None and cursor(c.app) == first_guest.object_id
        await pilot.press(expand)  # a guest is a leaf: nothing to open
        assert cursor(c.app) == first_guest.object_id
        await pilot.press(collapse)
        assert cursor(c.app) == "node/pve1", "collapse on a leaf goes to its node"


async def test_enter_on_a_checkbox_submits_the_form_and_space_toggles(console_factory,
                                                                      tmp_path):
    c = console_factory(actor=Actor("alice", Role.OPERATOR),
                        audit=AuditLog(tmp_path / "audit.jsonl"))
    async with c.app.run_test(size=(120, 40)) as pilot:
        await on_guest(pilot, c, "debian12-ct-template")
        await act(pilot, "n")
        form = c.app.screen
        assert isinstance(form, CreateFromTemplateForm)
        linked = form.query_one("#linked", FormCheckbox)
        linked.focus()
        await pilot.pause()
        before = linked.value
        assert str(linked.render()).startswith(("▐X▌", "▐ ▌"))
        await act(pilot, "space")
        assert linked.value is not before, "Space toggles"
        assert ("X" in str(linked.render())) is linked.value, "the box shows its state"
        await act(pilot, "space")
        assert linked.value is before
        await act(pilot, "enter")
        assert linked.value is before, "Enter must not untick the box"
        # Enter submitted the form: the empty name is refused next to its field.
        error = form.query_one("#error-name", Static)
        assert error.has_class("shown")


def pane_of(app) -> str:
    """The id of the pane that holds the focus."""
    focused = app.focused
    assert focused is not None
    return next(node.id for node in focused.ancestors_with_self
                if node.id in ("left", "detail", "tasks", "ping", "teaching"))


def tab_panes(app) -> set[str]:
    """The panes Tab can reach: those with a widget in the focus chain (the console
    orders the panes itself, ui/navigation.py)."""
    return {node.id for widget in app.screen.focus_chain
            for node in widget.ancestors_with_self
            if node.id in ("left", "detail", "tasks", "ping", "teaching")}


async def until_tab_reaches(pilot, *panes: str) -> None:
    """Wait until Tab would reach each of `panes`: one just shown mounts its widgets
    later."""
    await wait_until(pilot, lambda: set(panes) <= tab_panes(pilot.app), 10,
                     f"{', '.join(panes)} in the focus chain",
                     seen=lambda: sorted(tab_panes(pilot.app)))


async def test_tab_visits_tree_detail_tasks_ping_events_in_that_order(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 50)) as pilot:
        c.poll()
        await pilot.pause()
        c.app.query_one(ClusterTree).select_ref(TreeRef("lab", "qemu/100"))
        await pilot.press("t", "w")  # the task log and the ping panel too
        await until_tab_reaches(pilot, "tasks", "ping")
        assert pane_of(c.app) == "left"
        seen = []
        for _ in range(5):
            await pilot.press("tab")
            seen.append(pane_of(c.app))
        assert seen == ["detail", "tasks", "ping", "teaching", "left"]
        await pilot.press("shift+tab")
        assert pane_of(c.app) == "teaching"
        assert not isinstance(c.app.focused, Input), "Tab never lands in a text box"
        # The ping and events panels hidden, the task log is the second Tab from the tree.
        c.app.query_one(ClusterTree).focus()
        await pilot.press("w", "e")
        await pilot.pause()
        assert c.app.query_one("#tasks").has_class("visible")
        await pilot.press("tab", "tab")
        assert pane_of(c.app) == "tasks"


@pytest.mark.parametrize("theme", ["vmconsole-dark", "vmconsole-light",
                                   "vmconsole-high-contrast"])
async def test_the_focused_pane_is_highlighted_in_every_theme(console_factory, theme):
    c = console_factory(theme=theme)
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.press("t")
        await pilot.pause()
        accent = Color.parse(c.app.theme_variables["accent"])
        panes = {name: c.app.query_one(f"#{name}") for name in ("left", "detail", "tasks")}
        for focused in ("left", "detail", "tasks"):
            while pane_of(c.app) != focused:
                await pilot.press("tab")
            await pilot.pause()
            for name, pane in panes.items():
                edge, color = pane.styles.border_top
                lit = name == focused
                assert (edge == "heavy" and color == accent) is lit, (name, focused)
                assert (pane.styles.border_title_color == accent) is lit
                assert pane.border_title


async def test_console_keys_are_never_typed_into_the_ping_address_box(console_factory):
    c = console_factory(actor=Actor("teacher", Role.ADMIN))
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await pilot.pause()
        c.app.query_one(ClusterTree).select_ref(TreeRef("lab", "qemu/100"))
        await pilot.press("w")
        await until_tab_reaches(pilot, "ping")
        box = c.app.query_one("#ping-address", Input)
        for _ in range(6):  # round the panes: never into the box
            await pilot.press("tab")
            assert c.app.focused is not box
            if pane_of(c.app) == "ping":
                break
        assert pane_of(c.app) == "ping"
        await pilot.press("p")  # pause the simulated clock, from the ping panel
        await c.app.workers.wait_for_complete()
        assert c.backend.time_scale == 0.0
        assert box.value == ""
        # W is for typing an address: then letters go into the box, Escape leaves it.
        await pilot.press("W")
        assert c.app.focused is box
        await pilot.press("p", "f")
        assert box.value == "pf"
        await pilot.press("escape")
        assert c.app.focused is not box and pane_of(c.app) == "ping"
        await pilot.press("p")  # the console's key again: the clock runs
        await c.app.workers.wait_for_complete()
        assert c.backend.time_scale == 1.0 and box.value == "pf"


async def test_the_panels_key_hints_follow_a_remapped_key(console_factory):
    c = console_factory(config=Config(keys={"teach.pause": "P", "snapshots.take": "t",
                                            "snapshots.delete": "D"}))
    async with c.app.run_test(size=(100, 30)) as pilot:
        await on_guest(pilot, c, "web1")
        status = str(c.app.query_one("#teach-status", Static).render())
        assert "P pause" in status and "p pause" not in status
        await act(pilot, "S")
        hint = str(c.app.screen.query_one("#snap-keys", Static).render())
        assert hint == "t take  r roll back  D delete  c clone  esc close"
        info = str(c.app.screen.query_one("#snap-info", Static).render())
        assert info.endswith("or press t to take one")
        await act(pilot, "t")  # the remapped key does what the hint says
        assert type(c.app.screen).__name__ == "SnapshotCreateForm"


async def test_ctrl_c_says_how_to_quit_in_plain_words(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
        [note] = [str(n.message) for n in c.app._notifications]
        assert note == "Press q or ^q to quit"


async def test_the_trees_own_keys_follow_a_remap_and_the_others_go_on_to_the_app(
        console_factory):
    # The tree runs its own bindings as a key reaches it (issue 12), with the user's
    # [keys] applied: the remapped key moves, the key it took over no longer does, and a
    # key the tree does not bind still reaches the app's bindings.
    c = console_factory(config=Config(keys={"tree.down": "J", "tree.up": "K"}))
    async with c.app.run_test(size=(100, 30)) as pilot:
        web1 = await on_guest(pilot, c, "web1")
        await act(pilot, "j")
        assert cursor(c.app) == web1, "j is no longer the tree's"
        await act(pilot, "J")
        assert cursor(c.app) != web1, "J moves the cursor down"
        await act(pilot, "K")
        assert cursor(c.app) == web1
        await act(pilot, "question_mark")
        assert type(c.app.screen).__name__ == "HelpScreen", "? is the app's, not the tree's"


async def test_a_text_boxs_own_key_follows_a_remap_and_acts_as_it_arrives(console_factory):
    # The box runs its own bindings where the key arrives (PlainInput), with the user's
    # [keys] applied: Esc no longer leaves the address box, f9 does, and a key typed
    # behind f9 in the same burst goes to the tree, not into the box.
    c = console_factory(config=Config(keys={"ping.leave": "f9"}))
    async with c.app.run_test(size=(120, 40)) as pilot:
        web1 = await on_guest(pilot, c, "web1")
        await act(pilot, "W")
        box = c.app.query_one(AddressBox)
        await wait_until(pilot, lambda: box.has_focus, 10, "the focus in the address box")
        await act(pilot, "1", "escape", "2")
        assert c.app.focused is box and box.value == "12", "Esc is no longer the box's"
        for key, character in (("3", "3"), ("f9", None), ("j", "j")):  # one burst
            c.app.post_message(events.Key(key, character))
        await settle(pilot)
        assert box.value == "123" and isinstance(c.app.focused, ClusterTree)
        assert cursor(c.app) != web1, "j went on to the tree"


async def test_a_remapped_esc_of_a_form_is_not_run_from_its_text_box(console_factory):
    # A form's Esc typed in its text box runs as it arrives (PlainInput): under the
    # user's [keys], so once form.cancel is f9, Esc there no longer cancels.
    c = console_factory(config=Config(keys={"form.cancel": "f9"}))
    async with c.app.run_test(size=(100, 30)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "S", "n")
        form = c.app.screen
        assert isinstance(form, SnapshotCreateForm)
        await act(pilot, "escape")
        assert c.app.screen is form, "Esc is no longer the form's"
        await act(pilot, "f9")
        assert isinstance(c.app.screen, SnapshotPanel), "f9 cancels the form"


@pytest.mark.parametrize(("ascii", "arrows"), [(False, ("↑", "→", "←")),
                                               (True, ("up", "right", "left"))])
async def test_the_helps_intro_names_the_keys_a_remap_gave(console_factory, ascii, arrows):
    # The intro above the help's table named h/j/k/l and Tab whatever [keys] said; it
    # names the keys that move now, shown as the table shows them (the arrow down is no
    # longer the tree's: the remap names J alone).
    up, right, left = arrows
    c = console_factory(config=Config(keys={"tree.down": "J", "app.next_pane": "f3"}),
                        ascii=ascii)
    async with c.app.run_test(size=(100, 30)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "question_mark")
        intro = " ".join(shown_text(c.app).split())
        assert (f"In the tree, J moves down, {up} or k up; {right} or l expands, {left} "
                "or h collapses. f3 moves between the panes: tree, detail, task log, "
                "ping, events.") in intro
        assert "h/j/k/l" not in intro and "Tab moves" not in intro


async def test_the_helps_intro_names_the_keys_in_words_when_none_is_remapped(
        console_factory):
    c = console_factory(config=Config(keys={"app.tasks": "f2"}))
    async with c.app.run_test(size=(100, 30)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "question_mark")
        intro = " ".join(shown_text(c.app).split())
        assert ("Arrows or h/j/k/l move in the tree; Right and l expand, Left and h "
                "collapse. Tab moves between the panes:") in intro
