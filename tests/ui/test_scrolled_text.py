"""A scrolled text (a task's log, an audit record) shows its scrollbar's thumb where the text
is scrolled, also when it scrolled before the bar came (a snapshot test saw the thumb at
the top of a log shown at its end)."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Static

from vmconsole.ui.modals.moving_keys import ScrolledText


async def test_a_text_scrolled_before_its_scrollbar_shows_has_the_thumb_where_it_is():
    class Probe(App):
        def compose(self):
            with ScrolledText():
                yield Static("\n".join(f"line {i}" for i in range(100)))
    app = Probe()
    async with app.run_test(size=(40, 10)) as pilot:
        text = app.query_one(ScrolledText)
        text.styles.overflow_y = "hidden"
        await pilot.pause()
        text.scroll_y = text.max_scroll_y  # as a log that grew and followed its end
        await pilot.pause()
        assert text.scroll_y == text.max_scroll_y > 0
        text.styles.overflow_y = "auto"
        await pilot.pause()
        assert text.show_vertical_scrollbar
        assert text.vertical_scrollbar.position == text.scroll_y
