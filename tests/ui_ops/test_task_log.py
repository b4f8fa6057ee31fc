"""The task log: ordered by real start time across midnight, bounded but never cut
short, and its Status column on an 80-column screen whatever the names."""

from __future__ import annotations

import calendar

import pytest
from textual.geometry import Region

from tests.ui_ops.helpers import poll, task_log
from vmconsole.backends.base import Task, TaskStatus
from vmconsole.ui.recent_tasks import MAX_ROWS
from vmconsole.ui.table_fit import fit_widths
from vmconsole.ui.widgets.task_log import ACTED_BY_LIMIT, TaskLog, task_user

NIGHT = calendar.timegm((2026, 11, 28, 23, 59, 30, 0, 0, 0))  # UTC: conftest sets TZ


def task(n: int, started: float, **kwargs: object) -> Task:
    values: dict = dict(id=f"UPID:{n}", operation="qmstart", target=f"qemu/{n}",
                        node="pve1", user="root@pam", started=started,
                        status=TaskStatus.OK, ended=started + 2)
    values.update(kwargs)
    return Task(**values)


def rows(log: TaskLog) -> list[list[str]]:
    return [[str(cell) for cell in log.get_row_at(i)] for i in range(log.row_count)]


def screen_lines(log: TaskLog) -> list[str]:
    """The task log as drawn: one string per line of the widget."""
    strips = log.render_lines(Region(0, 0, log.size.width, log.size.height))
    return [strip.text for strip in strips]


async def test_a_task_after_midnight_shows_above_one_before(console):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        log = task_log(c.app)
        log.update_tasks("lab", [task(1, NIGHT - 3600), task(2, NIGHT)], NIGHT + 5)
        log.update_tasks("lab", [task(3, NIGHT + 40)], NIGHT + 45)  # 00:00:10 next day
        await pilot.pause()
        assert [(r[0], r[2]) for r in rows(log)] == [
            ("00:00:10", "qemu/3"), ("23:59:30", "qemu/2"), ("22:59:30", "qemu/1")]


async def test_the_log_keeps_the_newest_tasks_and_no_fewer(console):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        log = task_log(c.app)
        many = [task(n, NIGHT + n) for n in range(MAX_ROWS + 100)]
        log.update_tasks("lab", many, NIGHT + 10_000)
        await pilot.pause()
        shown = rows(log)
        assert len(shown) == MAX_ROWS == 500
        # The newest is task 599 (00:09:29 the next day), the oldest kept task 100.
        assert (shown[0][0], shown[-1][0]) == ("00:09:29", "00:01:10")
        # Another cluster's new task joins; the oldest of all leaves, nothing else.
        log.update_tasks("far", [task(0, NIGHT + 5000)], NIGHT + 10_000)
        await pilot.pause()
        shown = rows(log)
        assert len(shown) == MAX_ROWS and shown[-1][0] == "00:01:11"  # task 101
        assert [r[1] for r in shown].count("far") == 1


async def test_the_log_first_shown_has_the_tasks_polled_before(console):
    """The log is made when it is first shown (`t`): what the polls before brought is
    in it, each task in its latest state, newest first."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        slot = c.app.query_one("#tasks")
        slot.update_tasks("lab", [task(1, NIGHT - 60), task(2, NIGHT, status=TaskStatus.RUNNING,
                                                            ended=None, progress=0.5)], NIGHT + 5)
        slot.update_tasks("lab", [task(2, NIGHT, status=TaskStatus.ERROR, error="disk full")],
                          NIGHT + 9)
        await pilot.pause()
        assert not c.app.query(TaskLog), "the hidden log is not made"
        await pilot.press("t")
        await pilot.pause()
        log = c.app.query_one(TaskLog)
        assert [(r[0], r[2], r[6]) for r in rows(log)] == [
            ("23:59:30", "qemu/2", "ERROR: disk full"), ("23:58:30", "qemu/1", "OK")]


async def test_a_poll_between_the_logs_making_and_its_mount_is_shown(console):
    """The log mounts a moment after it is made (`t`): a poll in between that brings no
    new task (a running one's progress) raised ValueError in `_show` (under load, in a
    served class), and so ended the console."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        running = task(1, NIGHT, status=TaskStatus.RUNNING, ended=None, progress=0.2)
        c.app.query_one("#tasks").update_tasks("lab", [running], NIGHT + 1)  # kept
        log = task_log(c.app)  # made and mounting
        log.update_tasks("lab", [task(1, NIGHT, status=TaskStatus.ERROR, error="disk full")],
                         NIGHT + 2)
        await pilot.pause()
        assert c.app.is_running
        assert [(r[2], r[-1]) for r in rows(log)] == [("qemu/1", "ERROR: disk full")]


@pytest.mark.parametrize("long", ["x" * 5000, "名" * 300, "web [prod] \x1b[2J " * 40],
                         ids=["5000-chars", "wide-chars", "markup-and-escapes"])
async def test_status_is_on_screen_at_80_columns_whatever_the_names(console, long):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        log = task_log(c.app)
        c.app.show_panel(c.app.query_one("#tasks"), True)
        log.update_tasks(long, [
            task(1, NIGHT, target=long, user=long),
            task(2, NIGHT + 1, node=long, operation=long, status=TaskStatus.ERROR,
                 error="disk full"),
            task(3, NIGHT + 2, status=TaskStatus.RUNNING, ended=None, progress=0.5),
        ], NIGHT + 3)
        log.update_tasks("lab", [task(4, NIGHT - 60)], NIGHT + 3)  # the Cluster column shows
        await pilot.pause()
        assert log.size.width == 80
        lines = screen_lines(log)
        assert any(" 50% " in line for line in lines)
        assert any("ERROR: di" in line for line in lines)
        assert any(line.rstrip().endswith(" OK") for line in lines)
        assert all("…" in line for line in lines[1:4]), "long names are cut"  # under the header
        assert all("\x1b" not in line for line in lines)


async def test_in_ascii_a_cut_name_in_the_task_log_ends_in_ascii(console):
    """A tester's finding: with LANG=C or --ascii a cut name ended in `…`."""
    c = console(ascii=True)
    async with c.app.run_test(size=(80, 24)) as pilot:
        log = task_log(c.app)
        c.app.show_panel(c.app.query_one("#tasks"), True)
        log.update_tasks("lab", [task(1, NIGHT, target="x" * 200)], NIGHT + 3)
        await pilot.pause()
        [line] = screen_lines(log)[1:2]
        assert "xxx... " in line and "…" not in line, line


async def test_one_clusters_log_leaves_the_cluster_out_and_shows_who_asked_whole(console):
    """A served class at 80 columns: "teacher (root@pam)" was cut to "teacher (…", its
    room taken by a Cluster column that said "lab" on every row."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await poll(pilot, c)  # the guests' names: qemu/100 is web1
        log = task_log(c.app)
        c.app.show_panel(c.app.query_one("#tasks"), True)
        log.update_tasks("lab", [task(1, NIGHT, target="qemu/100", operation="qmigrate",
                                      acted_by="teacher")], NIGHT + 1)
        await pilot.pause()
        header, *lines = screen_lines(log)
        assert header.split() == ["Started", "Node", "Target", "Operation", "User",
                                  "Duration", "Status"]
        [row] = [line for line in lines if "teacher" in line]
        assert " web1 " in row and " teacher (root@pam) " in row and row.rstrip().endswith("OK")
        log.update_tasks("far", [task(2, NIGHT + 5)], NIGHT + 6)
        await pilot.pause()
        assert screen_lines(log)[0].split()[:2] == ["Started", "Cluster"]
        assert [r[1] for r in rows(log)] == ["far", "lab"]


async def test_who_asked_told_after_the_task_widens_the_user_column(console):
    """A served class: the poll that brings the teacher's task may come before the hub
    has noted who asked; the next tells it ("teacher (root@pam)"), and the column,
    fitted to "root@pam", cut it."""
    c = console()
    async with c.app.run_test(size=(100, 24)) as pilot:
        log = task_log(c.app)
        c.app.show_panel(c.app.query_one("#tasks"), True)
        log.update_tasks("lab", [task(1, NIGHT)], NIGHT + 1)
        await pilot.pause()
        log.update_tasks("lab", [task(1, NIGHT, acted_by="teacher")], NIGHT + 2)
        await pilot.pause()
        assert any(" teacher (root@pam) " in line for line in screen_lines(log))


def test_narrow_columns_keep_their_width_and_wide_ones_share_the_rest():
    assert fit_widths([4, 5, 8, 9, 8], 40) == [4, 5, 8, 9, 8]
    assert fit_widths([4, 5, 5000, 8, 5000], 31) == [4, 5, 7, 7, 8]
    assert fit_widths([5000] * 5, 10) == [4] * 5  # a name never shrinks past its start


def test_a_long_name_of_who_asked_is_cut_so_the_account_still_shows():
    asked = task(1, NIGHT, acted_by="t" * 128)
    assert task_user(asked) == "t" * (ACTED_BY_LIMIT - 1) + "… (root@pam)"
    assert task_user(task(2, NIGHT, acted_by="sam")) == "sam (root@pam)"
    assert task_user(task(3, NIGHT)) == "root@pam"
