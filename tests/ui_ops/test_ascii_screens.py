"""ASCII mode (`--ascii`, TERM=linux, LANG=C) on every view a user reaches by keyboard:
what the terminal gets holds only ASCII, Textual's frame included."""

from __future__ import annotations

from textual.command import CommandPalette
from textual.widgets import OptionList

from tests.ui_ops.helpers import act, on_guest, screen_lines, wait_until
from vmconsole.ui.modals.migrate import MigrateForm
from vmconsole.ui.modals.snapshot_create import SnapshotCreateForm
from vmconsole.ui.modals.snapshots import SnapshotPanel
from vmconsole.ui.screens.help import HelpScreen
from vmconsole.ui.screens.rebalance import RebalanceScreen
from vmconsole.ui.widgets.task_slot import TaskSlot


def not_ascii(app) -> str:
    """The characters on the screen that are not ASCII, each once, in screen order."""
    return "".join(dict.fromkeys(ch for line in screen_lines(app) for ch in line
                                 if not ch.isascii()))


async def test_in_ascii_mode_every_view_at_80x24_is_ascii(console):
    """A tester's finding: in ASCII mode the tree's guide lines, the key line's `↑↓`,
    every border and scroll bar were still Unicode. The demo's names are ASCII, so
    anything else on the screen is the console's or Textual's."""
    c = console(ascii=True)
    app = c.app
    async with app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        # The events panel (the demo's teaching panel) is shown from the start.
        await wait_until(pilot, lambda: app.query_one("#teaching").display, 10,
                         "the events panel")
        def planned() -> bool:
            return isinstance(app.screen, RebalanceScreen) and app.screen.plan is not None

        def listed() -> bool:  # the palette, its commands found
            return isinstance(app.screen, CommandPalette) \
                and app.screen.query_one(OptionList).option_count > 0

        views = (
            ("the main screen, a guest selected", (), lambda: True),
            ("the task log", ("t",), lambda: app.query_one(TaskSlot).has_class("visible")),
            ("the help", ("question_mark",), lambda: isinstance(app.screen, HelpScreen)),
            ("the rebalance plan", ("escape", "L"), planned),
            ("the help over the rebalance plan", ("question_mark",),
             lambda: isinstance(app.screen, HelpScreen)),
            ("the snapshot panel", ("escape", "escape", "S"),
             lambda: isinstance(app.screen, SnapshotPanel)),
            ("the snapshot form", ("n",), lambda: isinstance(app.screen, SnapshotCreateForm)),
            ("the migrate form", ("escape", "escape", "m"),
             lambda: isinstance(app.screen, MigrateForm)),
            ("the command palette", ("escape", "ctrl+p"), listed),
        )
        for view, keys, shown in views:
            await act(pilot, *keys)
            await wait_until(pilot, shown, 10, view)
            await pilot.pause()
            assert not not_ascii(app), f"{view}: {not_ascii(app)!r}\n" + "\n".join(
                screen_lines(app))


async def test_in_ascii_mode_a_forms_checkbox_is_bracketed_and_shows_its_tick(console):
    """Textual draws a checkbox's sides with half blocks, which ASCII mode leaves blank:
    its sides are brackets there, with an X only when ticked."""
    c = console(ascii=True)
    app = c.app
    async with app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "S", "n")
        await wait_until(pilot, lambda: isinstance(app.screen, SnapshotCreateForm), 10,
                         "the snapshot form")

        def ram_row() -> str:
            return next(line for line in screen_lines(app) if "Include RAM" in line)

        await wait_until(pilot, lambda: "[ ] Include RAM" in ram_row(), 10, "an empty box")
        app.screen.query_one("#vmstate").focus()
        await act(pilot, "space")
        await wait_until(pilot, lambda: "[X] Include RAM" in ram_row(), 10, "a ticked box")
