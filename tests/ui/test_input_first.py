"""Keys queued behind a poll's result act first, and no poll is lost for it: once the
keys stop, the screen shows the last poll, every change of the polls in between
included (issue 12, `ui.input_first`)."""

from __future__ import annotations

import time

from textual import events

from tests.ui_ops.helpers import detail_rows, on_guest, tree_label, wait_until
from vmconsole.ui import formatting as fmt
from vmconsole.ui import input_first
from vmconsole.ui.widgets.cluster_tree import ClusterTree


def queue_keys(app, *keys: str) -> None:
    """Keys as Textual's driver posts them: into the app's queue, all before any acts
    (a key held down, or typed while the console was busy)."""
    for key in keys:
        app.post_message(events.Key(key, None))


async def test_keys_queued_behind_a_poll_move_the_cursor_before_it_is_applied(
        console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        await on_guest(pilot, c, "web1")
        tree = c.app.query_one(ClusterTree)
        start = tree.cursor_line
        lines_when_applied: list[int] = []
        apply = tree.apply

        def recorded(result):
            lines_when_applied.append(tree.cursor_line)
            apply(result)

        tree.apply = recorded  # type: ignore[method-assign]
        c.poll(advance=30)
        queue_keys(c.app, "j", "j")
        await wait_until(pilot, lambda: lines_when_applied, 10, "the poll applied")
        assert lines_when_applied == [start + 2]


async def test_keys_held_while_polls_arrive_lose_no_poll(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        guest = await on_guest(pilot, c, "web1")
        tree = c.app.query_one(ClusterTree)
        start = tree.cursor_line
        # Three polls, each queued with keys behind it. Between the first two db1 stops:
        # its row must say so, although that poll's diff is not the last one.
        running_label = tree_label(c.app, "db1")
        c.poll(advance=30)
        queue_keys(c.app, "j", "k")
        c.backend.stop("qemu/101")
        c.poll(advance=30)
        queue_keys(c.app, "j", "k", "j")
        c.poll(advance=30)
        queue_keys(c.app, "k")
        last = c.loop.latest
        await wait_until(pilot, lambda: c.app.latest["lab"] is last, 10, "the last poll shown")
        await pilot.pause()
        assert tree.cursor_line == start  # every key acted: down, up, down, up, down, up
        by_id = last.inventory.guests_by_id()
        assert str(by_id["qemu/101"].status) == "stopped"
        assert tree_label(c.app, "db1") == tree._guest_label("lab", by_id["qemu/101"]).plain
        assert tree_label(c.app, "db1") != running_label
        # web1's figures in the detail pane are the last poll's
        shown = by_id[guest].metrics
        assert f"({fmt.percent(shown.cpu)} used)" in detail_rows(c.app)["vCPUs"]
        assert detail_rows(c.app)["Memory"].startswith(fmt.size(shown.mem))


async def test_a_poll_waits_at_most_limit_for_keys_held_down(console_factory, monkeypatch):
    monkeypatch.setattr(input_first, "LIMIT", 0.2)
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        await on_guest(pilot, c, "web1")
        c.poll(advance=30)
        last = c.loop.latest
        started = time.monotonic()
        # Keys keep coming faster than they are handled, for longer than LIMIT.
        while c.app.latest["lab"] is not last:
            assert time.monotonic() - started < 10, "the poll waited for as long as keys came"
            queue_keys(c.app, "j", "k")
            await pilot.pause(0.01)


async def test_a_poll_that_comes_once_the_screens_are_gone_is_dropped(console_factory):
    """Textual removes the screens when it shuts down, also when no quit said so (a
    lost terminal, a test's run_test ending): a poll result that arrived then asked for
    the focused widget of no screen, and ended the console with ScreenStackError (seen
    in CI, in a lab test's console)."""
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        c.poll()
        await wait_until(pilot, lambda: c.app.latest, 10, "the first poll applied")
    assert not c.app.screen_stack and not c.app.closing.is_set()
    c.app._waiting_polls.add(c.loop.poller.poll())
    c.app._apply_polls()  # raised ScreenStackError
    assert not c.app._waiting_polls.results


async def test_a_key_that_comes_once_the_screens_are_gone_is_dropped(console_factory):
    """Keys held down when the console shuts down: one still bubbling up from the tree
    reached the app after Textual had removed the screens, and its binding lookup ended
    the console with ScreenStackError (seen in CI, in the test above)."""
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: c.app.screen_stack, 10, "the main screen")
    assert not c.app.screen_stack
    for key in events.Key("j", None), events.Key("j", None), events.Paste("j"):
        if not isinstance(key, events.Paste):
            key._set_forwarded()  # on its way up from a widget
        await c.app.on_event(key)  # raised ScreenStackError
