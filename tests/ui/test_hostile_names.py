"""Names are data: a guest, a snapshot, a tag, an HA group, a cluster and a user named
with markup, terminal escapes, bidi and zero-width characters, 5,000 characters or a
newline are shown literally (made visible by `vmconsole.text.visible`) on every screen
and modal that shows them, the console keeps running, and no frame it sends to the
terminal carries the escapes. The audit log and its reader (`vmconsole audit`) do the
same."""

from __future__ import annotations

import re

import pyte
import pytest
from textual.command import CommandPalette
from textual.widgets import DataTable, OptionList, Static

from tests.frozen import FrozenConsole
from tests.ui_ops.helpers import act, plain, poll, shown_text
from vmconsole import cli
from vmconsole.actor import Actor, Role
from vmconsole.audit import AuditLog
from vmconsole.backends.sim.snapshots import SimSnapshot
from vmconsole.backends.sim.state import HAGroup
from vmconsole.config import SimCluster
from vmconsole.text import NAME_LIMIT, visible
from vmconsole.ui.modals.clone import CloneForm
from vmconsole.ui.modals.confirm import ConfirmScreen
from vmconsole.ui.modals.create_from_template import CreateFromTemplateForm
from vmconsole.ui.modals.ha import HAForm
from vmconsole.ui.modals.migrate import MigrateForm
from vmconsole.ui.modals.shutdown import ShutdownForm
from vmconsole.ui.modals.snapshot_create import SnapshotCreateForm
from vmconsole.ui.modals.snapshots import SnapshotPanel
from vmconsole.ui.modals.task_detail import TaskDetailScreen
from vmconsole.ui.screens.audit import CELL_LIMIT, AuditScreen
from vmconsole.ui.screens.help import HelpScreen
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef
from vmconsole.ui.widgets.detail_pane import DetailPane
from vmconsole.ui.widgets.ping_panel import PingPanel
from vmconsole.ui.widgets.task_log import TaskLog

HOSTILE = {
    "markup": "[bold]x",
    "markup-with-colon": "api [env=prod:eu]",
    "unbalanced-close": "[/]db",
    "link": "[link=https://example.org]web[/link]",
    "theme-variable": "[$accent]db",
    "osc-window-title": "\x1b]0;owned\x07web",
    "clear-screen": "\x1b[2Jweb",
    "osc52-clipboard": "\x1b]52;c;b3duZWQ=\x07web",
    "c1-csi": "\x9b2Jweb",
    "rtl-override": "web\u202egnp.exe",
    "zero-width": "we\u200bb",
    "5000-chars": "a" * 5000,
    "newline": "web\nforged line",
}
# What must never reach the terminal: the escapes and hidden characters themselves.
FORBIDDEN = ("\x1b]", "\x1b[2J", "\x07", "\x9b", "\u202e", "\u200b")

WEB, TEST, TEMPLATE = "qemu/100", "qemu/103", "qemu/9000"  # the classic lab's ids
SIZE = (80, 24)  # what an SSH terminal starts with


def squash(text: str) -> str:
    """Text without its whitespace: values wrap where the pane ends."""
    return re.sub(r"\s+", "", text)


def frame(app) -> str:
    """The bytes a full repaint of the current screen sends to the terminal."""
    update = app.screen._compositor.render_full_update()
    return update.render_segments(app.console)


def check(app, name: str, where: str, notifications: bool = False,
          limit: int = NAME_LIMIT) -> None:
    """The console still runs, shows `name` literally (cut to `limit` characters) on its
    current screen (or in its notifications), and sends no escape of it."""
    assert app.is_running and app.return_code is None, f"{where}: the console ended"
    expected = squash(visible(name, limit))
    shown = squash(shown_text(app, notifications))
    assert expected in shown, f"{where}: {visible(name)!r} not shown"
    sent = frame(app)
    leaked = [seq for seq in FORBIDDEN if seq in sent]
    assert not leaked, f"{where}: sent {leaked!r} to the terminal"
    screen = pyte.Screen(*SIZE)
    pyte.Stream(screen).feed(sent)
    assert visible(name)[:12] in "\n".join(screen.display), f"{where}: not on the screen"


def hostile_console(name: str, audit: AuditLog) -> FrozenConsole:
    """The classic lab with the cluster, web1, test1, the template, a tag, a snapshot,
    an HA group and the user all called `name`."""
    c = FrozenConsole(SimCluster(name=name), actor=Actor(name, Role.ADMIN, "local"),
                      audit=audit)
    sim = c.backend.sim
    for guest_id in (WEB, TEST, TEMPLATE):
        sim.guests[guest_id].name = name
    web = sim.guests[WEB]
    web.tags = (name,)
    web.snapshots[name] = SimSnapshot(name, None, sim.now - 3600, description=name)
    web.current_snapshot = name
    sim.groups[name] = HAGroup(name, dict.fromkeys(sim.nodes, 1))
    return c


async def select_id(pilot, cluster: str, guest_id: str) -> None:
    tree = pilot.app.query_one(ClusterTree)
    assert tree.select_ref(TreeRef(cluster, guest_id))
    tree.focus()
    await pilot.pause()


async def until(pilot, condition, what: str, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def opened(pilot, key: str, kind: type, name: str, where: str) -> None:
    """Press `key`, expect a `kind` screen showing `name`, close it with Escape."""
    await act(pilot, key)
    assert isinstance(pilot.app.screen, kind), f"{where}: {pilot.app.screen!r}"
    check(pilot.app, name, where)
    await act(pilot, "escape")


@pytest.mark.parametrize("name", list(HOSTILE.values()), ids=list(HOSTILE))
async def test_a_hostile_name_is_shown_literally_everywhere(name, tmp_path, capsys):
    audit = AuditLog(tmp_path / "audit.jsonl")
    c = hostile_console(name, audit)
    app = c.app
    async with app.run_test(size=SIZE) as pilot:
        await poll(pilot, c)
        await select_id(pilot, name, WEB)
        check(app, name, "tree, detail pane and header")
        assert squash(visible(name)) in squash(plain(app.query_one(DetailPane)
                                                     .query_one("#facts", Static).visual))

        # The snapshot panel, its confirmation and its form.
        await act(pilot, "S")
        assert isinstance(app.screen, SnapshotPanel)
        await until(pilot, lambda: app.screen.snapshots, "the snapshots")
        check(app, name, "snapshot panel")
        await pilot.press("down")
        await act(pilot, "r")
        assert isinstance(app.screen, ConfirmScreen)
        check(app, name, "rollback confirmation")
        await act(pilot, "escape")
        await opened(pilot, "n", SnapshotCreateForm, name, "take-snapshot form")
        await act(pilot, "escape")

        # Every operation's form or question on the running guest.
        await opened(pilot, "d", ShutdownForm, name, "shutdown form")
        await opened(pilot, "m", MigrateForm, name, "migrate form")
        await opened(pilot, "H", HAForm, name, "HA form")
        await opened(pilot, "c", CloneForm, name, "clone form")

        # A refusal, as a notification.
        await act(pilot, "s")
        check(app, name, "refusal notification", notifications=True)
        app.clear_notifications()

        # The command palette for the guest.
        await act(pilot, "ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await until(pilot, lambda: app.screen.query_one(OptionList).option_count,
                    "the palette's entries")
        check(app, name, "command palette")
        await act(pilot, "escape")

        # Stop it: the question, the task log, the task's detail.
        await act(pilot, "X")
        assert isinstance(app.screen, ConfirmScreen)
        check(app, name, "stop confirmation")
        await act(pilot, "y")
        await poll(pilot, c, advance=5)
        check(app, name, "task started: notification and task log", notifications=True)
        app.clear_notifications()
        app.query_one(TaskLog).focus()
        await opened(pilot, "enter", TaskDetailScreen, name, "task detail")

        # On a stopped guest: convert to template; on the template: create from it.
        await select_id(pilot, name, TEST)
        await opened(pilot, "T", ConfirmScreen, name, "convert-to-template confirmation")
        await select_id(pilot, name, TEMPLATE)
        await opened(pilot, "n", CreateFromTemplateForm, name, "create-from-template form")

        # Help, and the audit log (the user and the cluster are the hostile name too).
        await act(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen) and app.is_running
        assert not [s for s in FORBIDDEN if s in frame(app)]
        await act(pilot, "escape")
        await select_id(pilot, name, WEB)  # the audit screen opens on its records
        await act(pilot, "a")
        assert isinstance(app.screen, AuditScreen)
        await until(pilot, lambda: app.screen.query_one(DataTable).row_count, "the records")
        check(app, name, "audit screen", limit=CELL_LIMIT)
        await act(pilot, "escape")

        # Last (its chart redraws five times a second): the ping monitor on the guest.
        await act(pilot, "w")
        panel = app.query_one(PingPanel)
        await until(pilot, lambda: panel.measurement is not None, "the ping session")
        check(app, name, "ping panel")
        panel.stop()

    records = list(audit.read())
    assert records and all(r.user == name and r.cluster == name for r in records)
    assert cli.main(["audit", "--log", str(audit.path)]) == 0
    out = capsys.readouterr().out
    assert not [s for s in FORBIDDEN if s in out]
    assert len(out.splitlines()) == len(records)  # no record forges or hides a line
    assert all(line.split("  ")[1].startswith(visible(name)) for line in out.splitlines())


async def test_two_guests_of_one_name_get_questions_that_tell_them_apart(tmp_path):
    c = FrozenConsole(SimCluster(), actor=Actor("alice", Role.ADMIN, "local"),
                      audit=AuditLog(tmp_path / "audit.jsonl"))
    c.backend.sim.guests[WEB].name = "web [prod]"
    c.backend.sim.guests["qemu/101"].name = "web [test]"  # db1, running on pve2
    app = c.app
    async with app.run_test(size=SIZE) as pilot:
        await poll(pilot, c)
        titles = []
        for guest_id in (WEB, "qemu/101"):
            await select_id(pilot, "lab", guest_id)
            await act(pilot, "X")
            assert isinstance(app.screen, ConfirmScreen)
            titles.append(app.screen.query_one("Vertical")._border_title.plain)
            await act(pilot, "escape")
        assert titles == ["Stop (hard): web [prod] (qemu/100 on pve1)",
                          "Stop (hard): web [test] (qemu/101 on pve2)"]


async def test_a_long_name_of_wide_characters_still_shows_the_role() -> None:
    # A second tester's finding: 110 x 名 (two cells each) cut at 24 characters still
    # filled an 80-column header and hid "(viewer)"; the name is cut by cells.
    c = FrozenConsole(actor=Actor("名" * 110, Role.VIEWER, "local"))
    async with c.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = pyte.Screen(*SIZE)
        pyte.Stream(screen).feed(frame(c.app))
        assert "(viewer)" in screen.display[0], screen.display[0]
