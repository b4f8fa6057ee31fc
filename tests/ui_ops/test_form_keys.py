"""Enter submits a form from a closed Select or a RadioSet, as from every other field;
Space and the arrows open the Select and pick in it, Enter in its open list picks."""

from __future__ import annotations

from textual.widgets import Select

from tests.ui_ops.helpers import act, on_guest, wait_until
from vmconsole.ui.modals.ha import HAForm


async def test_enter_on_a_closed_select_submits_and_space_opens_it(console, audit):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        guest_id = await on_guest(pilot, c, "test1")
        await act(pilot, "H")
        form = c.app.screen
        assert isinstance(form, HAForm)
        request = form.query_one("#request", Select)
        request.focus()
        await act(pilot, "space")
        assert request.expanded  # Space opens the list
        await act(pilot, "down", "enter")  # Enter in the open list picks an option
        assert c.app.screen is form and not request.expanded
        assert request.value == "stopped"
        await act(pilot, "enter")  # on the closed Select: submits
        await wait_until(pilot, lambda: c.app.screen is not form, 10, "the form submitted")
        ha = c.backend.inventory().guest(guest_id).ha
        assert ha is not None and ha.request == "stopped"
        assert [r.operation for r in audit.read()] == ["ha"]
