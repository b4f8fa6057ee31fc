"""Each operation's form and panel at 80x24, on the simulator with its clock frozen and
its seed fixed (regenerate with --snapshot-update after a deliberate change)."""

from __future__ import annotations

import pytest
from textual.widgets._footer import FooterKey  # Footer's keys: not exported by Textual
from textual.widgets._toast import Toast  # neither are its toasts

from tests.frozen import FrozenConsole
from tests.ui_ops.helpers import (
    act,
    on_guest,
    panel_follows,
    poll,
    screen_text,
    settle,
    wait_until,
)
from vmconsole.actor import Actor, Role
from vmconsole.config import SimCluster
from vmconsole.ui.modals.task_detail import TaskDetailScreen
from vmconsole.ui.widgets.task_log import TaskLog

# screen -> (guest to select, keys that open it, seconds of sim time to let pass after)
SCREENS: dict[str, tuple[str, list[str], float]] = {
    "confirm_stop": ("web1", ["X"], 0),
    "shutdown": ("web1", ["d"], 0),
    "create_from_template": ("debian12-ct-template", ["n"], 0),
    "clone": ("test1", ["c"], 0),
    "convert_to_template": ("test1", ["T"], 0),
    "migrate_vm": ("build1", ["m"], 0),
    "migrate_container": ("dns1", ["m"], 0),
    "ha": ("db1", ["H"], 0),
    "snapshot_panel": ("web1", ["S", "n", *"before", "tab", *"pre-upgrade", "tab", "space",
                                "shift+tab", "enter"], 20),
    "snapshot_create": ("web1", ["S", "n"], 0),
}


@pytest.mark.parametrize("screen", list(SCREENS))
def test_operation_screens(snap_compare, audit, screen):
    c = FrozenConsole(SimCluster(), actor=Actor("alice", Role.OPERATOR), audit=audit)
    guest, keys, advance = SCREENS[screen]

    async def run_before(pilot) -> None:
        await on_guest(pilot, c, guest)
        for key in keys:
            await act(pilot, key)
        if advance:
            await panel_follows(pilot, c, advance)
        c.app.clear_notifications()  # they time out; a snapshot must not depend on when

    assert snap_compare(c.app, terminal_size=(80, 24), run_before=run_before)


def detail_at_its_end(app) -> bool:
    """The task's detail is open on the ended task, its log scrolled to the last line
    (the log scrolls once it has been laid out) and its scrollbar's thumb there too."""
    screen = app.screen
    if not isinstance(screen, TaskDetailScreen) or "TASK OK" not in screen_text(app):
        return False
    log = screen.query_one("#log")
    return log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y and \
        log.show_vertical_scrollbar and log.vertical_scrollbar.position == log.scroll_y


def log_scroll(app) -> str:
    """What a wait for the detail saw of its log's scrolling."""
    log = app.screen.query_one_optional("#log")
    if log is None:
        return f"no task log on {app.screen!r}"
    return (f"scrolled {log.scroll_y} of {log.max_scroll_y}, thumb at "
            f"{log.vertical_scrollbar.position if log.show_vertical_scrollbar else None}")


def test_task_detail_after_a_live_migration(snap_compare, audit):
    c = FrozenConsole(SimCluster(), actor=Actor("alice", Role.OPERATOR), audit=audit)
    c.backend.sim.guests["qemu/100"].ha = None  # QEMU's own migration (no HA request)

    async def run_before(pilot) -> None:
        await on_guest(pilot, c, "web1")
        await act(pilot, "m")
        await act(pilot, "enter")
        await poll(pilot, c, 60)
        # The ping monitor's live chart and count of probes would differ run to run;
        # its row in the detail is tested in tests/ui/test_ping_sessions.py.
        watches = c.app.ping_watches
        for watch in list(watches):
            watches.remove(watch)
        c.app.show_ping(False)
        # Textual clears the toasts of the screen on top only: the task's toast must go
        # before the detail covers the main screen, or the snapshot holds whatever of it
        # that screen had drawn by then (CI caught one without it).
        c.app.clear_notifications()
        await wait_until(pilot, lambda: not c.app.screen.query(Toast), 10,
                         "the main screen without toasts")
        c.app.query_one(TaskLog).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: detail_at_its_end(c.app), 10,
                         "the task's detail, its log scrolled to TASK OK",
                         seen=lambda: (log_scroll(c.app), screen_text(c.app)))
        # The thumb is drawn where the scroll was when the bar last painted: in CI it
        # stood at the top with the log at its end. Painted again, it shows the end.
        c.app.screen.query_one("#log").vertical_scrollbar.refresh()
        await settle(pilot)
        c.app.clear_notifications()

    assert snap_compare(c.app, terminal_size=(80, 24), run_before=run_before)


def test_task_log_with_a_clone_in_progress(snap_compare, audit):
    c = FrozenConsole(SimCluster(), actor=Actor("alice", Role.OPERATOR), audit=audit)

    async def run_before(pilot) -> None:
        await on_guest(pilot, c, "debian12-template")
        await act(pilot, "n", *"web2", "enter")
        await poll(pilot, c, 20)  # a third of the way through a 10 GiB copy
        c.app.clear_notifications()

    assert snap_compare(c.app, terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("theme", ["vmconsole-light", "vmconsole-high-contrast"])
def test_a_form_in_the_other_themes(snap_compare, audit, theme):
    c = FrozenConsole(SimCluster(), actor=Actor("alice", Role.OPERATOR), audit=audit,
                      theme=theme)

    async def run_before(pilot) -> None:
        await on_guest(pilot, c, "dns1")
        await act(pilot, "m")

    assert snap_compare(c.app, terminal_size=(80, 24), run_before=run_before)


# The teacher's screens of HA rules, the CRS and FT (an admin's): keys from test1.
HA_CONFIG_SCREENS: dict[str, list[str]] = {
    "ha_rules": ["R"],
    "node_affinity_form": ["R", "j", "e"],
    "resource_affinity_form": ["R", "r"],
    "crs_form": ["R", "c"],
    "fault_tolerance_form": ["F"],
}


@pytest.mark.parametrize("screen", list(HA_CONFIG_SCREENS))
def test_ha_config_screens(snap_compare, audit, screen):
    c = FrozenConsole(SimCluster(), actor=Actor("teacher", Role.ADMIN), audit=audit)
    c.backend.sim.ft_link_gbit = 10.0  # the FT form's verdicts, not only the link's

    async def run_before(pilot) -> None:
        await on_guest(pilot, c, "test1")
        for key in HA_CONFIG_SCREENS[screen]:
            await act(pilot, key)
            # the rules screen reads the rules in a worker (None until then)
            await wait_until(pilot, lambda: getattr(c.app.screen, "rules", False) is not None,
                             10, "the HA rules read", seen=lambda: c.app.screen)
        # a form focuses its first field once drawn; a refused FT form (test1 is
        # stopped) has nothing to focus, but its key line
        await wait_until(pilot, lambda: c.app.screen.focused is not None
                         or (getattr(c.app.screen, "refused", False)
                         and c.app.screen.query(FooterKey)), 10, "the focus")
        await settle(pilot)
        c.app.clear_notifications()

    assert snap_compare(c.app, terminal_size=(80, 24), run_before=run_before)
