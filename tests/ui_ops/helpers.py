"""What the operation tests do as a user would: select, press, wait, read the screen."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import time
from collections.abc import Callable

import pyte
from rich.console import Console
from rich.text import Text
from textual.command import CommandInput, CommandList, CommandPalette
from textual.content import Content
from textual.visual import RichVisual
from textual.widget import Widget
from textual.widgets import DataTable, OptionList, Static, Tree
from textual.widgets._toast import Toast  # not exported; the toasts are what users read

from tests.frozen import FrozenConsole
from vmconsole.backends.base import Backend
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.messages import ClusterPolled
from vmconsole.ui.modals.task_panel import TaskPanel
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef
from vmconsole.ui.widgets.metric_chart import MetricChart
from vmconsole.ui.widgets.task_log import TaskLog
from vmconsole.ui.widgets.task_slot import TaskSlot

# Worker groups that finish by themselves (flows wait on forms, so they are not here).
BACKGROUND_GROUPS = ("ops", "queries", "audit", "form", "snapshots", "backups")


async def settle(pilot, rounds: int = 200) -> None:
    """Let keys (those of a burst wait their turn: `ui.key_order`), the facts of the
    row the cursor moved to (`FACTS_AFTER_S`), workers (backend calls in threads) and
    screen changes finish."""
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause()
        if not app.key_order.busy and not getattr(app, "facts_due", False) and not any(
                w.is_running for w in app.workers if w.group in BACKGROUND_GROUPS):
            await pilot.pause()
            return
        await asyncio.sleep(0.005)
    raise AssertionError("workers still running")


async def settled(pilot, chart: MetricChart, seconds: float = 10.0) -> None:
    """Wait until a newly selected object's chart is drawn (MetricChart.SETTLE)."""
    deadline = time.monotonic() + seconds
    while chart.settling:
        assert time.monotonic() < deadline, "the chart was never drawn"
        await pilot.pause(0.01)
    await pilot.pause()


async def act(pilot, *keys: str) -> None:
    """Press keys as a user would, each followed by the work it started."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def on_guest(pilot, c: FrozenConsole, name: str) -> str:
    """A first poll, then the cursor on the guest called `name`; returns its id."""
    await poll(pilot, c)
    return await select(pilot, c, name)


async def select(pilot, c: FrozenConsole, name: str) -> str:
    """Put the tree's cursor on the guest called `name`; returns its id."""
    return await select_in(pilot, c.loop, name)


async def select_in(pilot, loop: PollLoop, name: str) -> str:
    inventory = loop.poller.inventory
    assert inventory is not None, "poll first"
    guest = next(g for g in inventory.guests if g.name == name)
    tree = pilot.app.query_one(ClusterTree)
    assert tree.select_ref(TreeRef(inventory.cluster, guest.id))
    tree.focus()
    await pilot.pause()
    return guest.id


async def poll(pilot, c: FrozenConsole, advance: float = 0.0) -> None:
    c.poll(advance)
    await pilot.pause()
    await pilot.pause()


async def panel_follows(pilot, c: FrozenConsole, advance: float) -> None:
    """Move the sim `advance` seconds, poll, and wait until the open snapshot or backup
    panel has seen the tasks started in it end and shown its list read again: it looks
    at the polls only every half second (task_panel.REFRESH_SECONDS)."""
    panel = pilot.app.screen
    assert isinstance(panel, TaskPanel), f"no snapshot or backup panel: {panel!r}"
    await poll(pilot, c, advance)
    busy = panel.query_one(f"#{panel.PREFIX}-busy", Static)
    # its tasks not yet seen ended: no hook says so but the panel's own set of them
    await wait_until(pilot, lambda: not panel._waiting, 10,
                     f"the {panel.WHAT.lower()} panel to see its tasks end",
                     seen=lambda: plain(busy.visual) or "no task running")
    await settle(pilot)  # its list, read again in a worker


def screen_lines(app) -> list[str]:
    """The screen as a terminal of the app's size shows it after a full repaint."""
    update = app.screen._compositor.render_full_update()
    terminal = pyte.Screen(*app.size)
    pyte.Stream(terminal).feed(update.render_segments(app.console))
    return terminal.display


def screen_text(app) -> str:
    """The text of the current screen's labels and statics (tables included)."""
    console = Console(width=200, record=True, file=io.StringIO())
    for widget in app.screen.query(Static):
        console.print(widget.content)
    return console.export_text()


def tree_parent(app, name: str) -> str | None:
    """The tree node (e.g. "node/pve2") under which the guest called `name` is shown."""
    tree = app.query_one(ClusterTree)
    for line in range(tree.last_line + 1):
        node = tree.get_node_at_line(line)
        if node is not None and f" {name} " in f"{node.label.plain} ":
            return node.parent.data.object_id if node.parent and node.parent.data else None
    return None


def tree_label(app, name: str) -> str:
    tree = app.query_one(ClusterTree)
    for line in range(tree.last_line + 1):
        node = tree.get_node_at_line(line)
        if node is not None and f" {name} " in f"{node.label.plain} ":
            return node.label.plain
    raise AssertionError(f"no {name} in the tree")


def task_log(app) -> TaskLog:
    """The task log, made as the console makes it when it is first shown (`t`, or a
    task started here): before that there is none (`TaskSlot`)."""
    return app.query_one(TaskSlot).task_log()


def task_rows(app) -> list[list[str]]:
    """The task log as the user reads it, newest first."""
    log = task_log(app)
    return [[str(cell) for cell in log.get_row_at(i)] for i in range(log.row_count)]


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def plain(value: object) -> str:
    if isinstance(value, Content | Text):
        return value.plain
    if isinstance(value, RichVisual):  # a Static showing a Rich table
        value = value._renderable
    console = Console(width=400, record=True, file=io.StringIO())
    console.print(value)
    return console.export_text()


def shown_text(app, notifications: bool = False) -> str:
    """Everything the current screen shows as text: border titles, statics and labels,
    tree labels, table cells, option prompts (the palette's too), the header's title;
    and the notifications (as their toasts show them) if asked."""
    parts = []
    for widget in app.screen.query(Widget):
        title = widget._border_title  # the getter gives markup back; this is the Content
        if title is not None:
            parts.append(title.plain)
        if isinstance(widget, Toast):
            if notifications:
                parts.append(plain(widget.render()))
        elif isinstance(widget, Static):
            parts.append(plain(widget.visual))
        elif isinstance(widget, Tree):
            parts += [widget.get_node_at_line(i).label.plain
                      for i in range(widget.last_line + 1)]
        elif isinstance(widget, DataTable):
            parts += [plain(cell) for i in range(widget.row_count)
                      for cell in widget.get_row_at(i)]
        elif isinstance(widget, OptionList):
            parts += [plain(widget.get_option_at_index(i).prompt)
                      for i in range(widget.option_count)]
        elif type(widget).__name__ == "HeaderTitle":  # the app's title and sub-title
            parts.append(plain(widget.render()))
    return "\n".join(parts)


async def show_guest(pilot, loop: PollLoop, name: str, seconds: float = 30.0):
    """Poll a real backend's loop until a guest called `name` is in its inventory (hosts
    connect in the background), show the result and put the cursor on that guest."""
    deadline = time.monotonic() + seconds
    while True:
        result = loop.poller.poll()
        guest = next((g for g in result.inventory.guests if g.name == name), None) \
            if result.inventory else None
        if guest is not None:
            break
        assert time.monotonic() < deadline, f"no guest {name!r}: {result.error}"
        await pilot.pause(0.1)
    pilot.app.post_message(ClusterPolled(result))
    await pilot.pause()
    tree = pilot.app.query_one(ClusterTree)
    assert tree.select_ref(TreeRef(result.cluster, guest.id))
    tree.focus()
    await pilot.pause()
    return guest


def detail_rows(app) -> dict[str, str]:
    """The detail pane's facts as the user reads them, {key: value}."""
    console = Console(width=300, record=True, file=io.StringIO())
    console.print(app.query_one("#facts", Static).content)
    rows: dict[str, str] = {}
    key = ""
    for line in console.export_text().splitlines():
        if line[:1].isspace() and key:  # a value wrapped under itself
            rows[key] += " " + line.strip()
            continue
        pair = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        if len(pair) == 2:
            key, rows[pair[0]] = pair[0], pair[1]
    return rows


async def wait_until(pilot, condition: Callable[[], object], timeout: float,
                     what: str, seen: Callable[[], object] | None = None) -> float:
    """Seconds until `condition()` held, the app running meanwhile; fails after
    `timeout` seconds, saying `what` was awaited and, if given, what `seen()` shows."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            shown = f"; seen: {seen()!r}" if seen is not None else ""
            raise AssertionError(f"not within {timeout} s: {what}{shown}")
        await pilot.pause(0.05)
    return time.monotonic() - started


def palette_entries(app) -> list[str]:
    """The open command palette's entries, each its first line (the title)."""
    options = app.screen.query_one(CommandList)
    return [plain(options.get_option_at_index(i).prompt).split("\n")[0]
            for i in range(options.option_count)]


async def palette_search(pilot, typed: str, timeout: float = 10.0) -> None:
    """Type `typed` into the open command palette and wait until it lists the matches
    of what its box holds, the best highlighted: it searches in a worker that adds the
    matches in batches, so an Enter pressed before then chooses another entry, or none.
    The box empty, the palette lists what it offers unasked."""
    await pilot.press(*typed)
    palette = pilot.app.screen
    assert isinstance(palette, CommandPalette), f"no command palette: {palette!r}"
    box = palette.query_one(CommandInput)
    options = palette.query_one(CommandList)

    def listed() -> bool:
        searching = any(w.is_running for w in pilot.app.workers
                        if w.group == CommandPalette._GATHER_COMMANDS_GROUP)
        if searching or not palette.has_class("-ready") or options.highlighted is None:
            return False
        best = plain(options.get_option_at_index(options.highlighted).prompt)
        return box.value.casefold() in best.split("\n")[0].casefold()

    await wait_until(pilot, listed, timeout, f"the palette's matches of {box.value!r}",
                     seen=lambda: palette_entries(pilot.app))


@contextlib.asynccontextmanager
async def live_console(backend: Backend, interval: float = 0.5,
                       size: tuple[int, int] = (120, 40)):
    """A console on `backend` with its poll loop running (real threads, real time), as
    the launcher runs it; yields the pilot. The loop stops and the backend closes after."""
    loop = PollLoop(Poller(backend, interval=interval))
    app = VMConsoleApp([loop])
    try:
        async with app.run_test(size=size) as pilot:
            loop.start()
            yield pilot
    finally:
        loop.stop()
        backend.close()
