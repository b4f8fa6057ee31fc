"""Keys as the README and `?` promise them: the tree's expand and collapse, Enter on a
form's checkbox, console keys next to the ping panel's address box, the Tab order and
the focused pane's highlight."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from tests.ui_ops.helpers import act, on_guest
from vmconsole.audit import AuditLog
from vmconsole.session import Role, Session
from vmconsole.ui.modals.create_from_template import CreateFromTemplateForm
from vmconsole.ui.modals.form import FormCheckbox
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
    c = console_factory(session=Session("alice", Role.OPERATOR),
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
