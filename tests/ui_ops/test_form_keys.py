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


async def test_a_dialogs_key_line_lists_its_own_keys(console):
    """A tester's finding: over a dialog the key line still was the console's (only
    `? Help`, `q Quit`), never the dialog's Enter, Tab or Esc."""
    import pyte

    from vmconsole.ui.modals.confirm import ConfirmScreen
    from vmconsole.ui.modals.migrate import MigrateForm
    from vmconsole.ui.screens.help import HelpScreen

    def key_line(app) -> str:
        update = app.screen._compositor.render_full_update()
        terminal = pyte.Screen(80, 24)
        pyte.Stream(terminal).feed(update.render_segments(app.console))
        return " ".join(terminal.display[-1].split())

    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        for keys, dialog, shown in (
                (["m"], MigrateForm, "⏎ Submit tab Next field esc Cancel"),
                (["escape", "X"], ConfirmScreen, "esc No y Yes"),
                (["escape", "question_mark"], HelpScreen, "esc Close")):
            await act(pilot, *keys)
            assert isinstance(c.app.screen, dialog)
            await wait_until(pilot, lambda shown=shown: key_line(c.app) == shown, 10,
                             f"{shown!r} on the key line")
