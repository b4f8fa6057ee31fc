"""A cursor key's move reaches the screen in a frame of its own, and the detail pane's
facts of the row follow it (`app.FACTS_AFTER_S`): the frame the user waits for is two
lines of the tree, not the facts' dozen (issue 12)."""

from __future__ import annotations

import time

from textual import events
from textual.widgets import Static

from tests.ui_ops.helpers import detail_rows, on_guest, settle, wait_until
from vmconsole.ui import app as app_module
from vmconsole.ui.widgets.cluster_tree import ClusterTree
from vmconsole.ui.widgets.detail_pane import DetailPane


async def test_the_cursor_moves_in_a_frame_before_the_facts_of_its_row(console_factory,
                                                                       monkeypatch):
    wait = 0.3  # longer than the app's, so that a busy machine cannot blur the order
    monkeypatch.setattr(app_module, "FACTS_AFTER_S", wait)
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        await on_guest(pilot, c, "web1")
        await settle(pilot)
        tree = c.app.query_one(ClusterTree)
        start = tree.cursor_line
        screen, detail = c.app.screen, c.app.query_one(DetailPane)
        frames: list[tuple[int, str | None]] = []  # (cursor line, facts' Name) drawn
        shown: list[float] = []  # when the pane was given a row to show
        paint, show = screen._compositor_refresh, detail.show

        def drawn() -> None:
            paint()
            frames.append((tree.cursor_line, detail_rows(c.app).get("Name")))

        def showing(*args) -> None:
            shown.append(time.perf_counter())
            show(*args)

        screen._compositor_refresh = drawn  # type: ignore[method-assign]
        detail.show = showing  # type: ignore[method-assign]
        pressed = time.perf_counter()
        await pilot.press("j")
        await wait_until(pilot, lambda: frames and frames[-1][1] == "test1", 10,
                         "the facts of the row below web1", lambda: frames)
        moved = next(frame for frame in frames if frame[0] != start)
        assert moved == (start + 1, "web1"), "the cursor's frame waited for the facts"
        # The facts' work waits meanwhile: the key's frame is on its way to the terminal.
        assert shown and shown[0] - pressed >= wait
        assert frames[-1] == (start + 1, "test1")


async def test_a_burst_of_keys_ends_with_the_facts_of_the_row_it_ends_on(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        await on_guest(pilot, c, "web1")
        for key in ("j", "j", "k", "j", "j"):  # as a held key's repeats arrive: queued
            c.app.post_message(events.Key(key, None))
        await settle(pilot)
        tree = c.app.query_one(ClusterTree)
        assert str(tree.cursor_node.label).split()[2] == detail_rows(c.app)["Name"]


async def test_when_the_selected_guest_goes_the_pane_shows_the_row_under_the_cursor(
        console_factory):
    """The tester's finding: after a delete, the cursor stood on the next row and the
    pane still said "gone" for the deleted guest."""
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        guest = await on_guest(pilot, c, "test1")  # stopped: it can be destroyed
        c.backend.destroy(guest)
        c.poll(advance=30)  # the destroy's task done
        tree = c.app.query_one(ClusterTree)
        await wait_until(pilot, lambda: "test1" not in str(tree.cursor_node.label), 10,
                         "the cursor off the removed guest")
        await settle(pilot)
        row = str(tree.cursor_node.label).split()[2]
        await wait_until(pilot, lambda: detail_rows(c.app).get("Name") == row, 10,
                         f"the facts of {row}",
                         lambda: c.app.query_one("#facts", Static).content.plain)
