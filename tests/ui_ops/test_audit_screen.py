"""The audit screen on an 80x24 terminal: what was done and how it ended are on screen
without scrolling, however long the user, the target and the source of a record are; and
lines of the log that are not records are said, as `vmconsole audit` says them."""

from __future__ import annotations

import json
import re
from dataclasses import asdict

from tests.ui_ops.helpers import act, on_guest, plain, poll, screen_lines, wait_until
from vmconsole.audit import AuditRecord
from vmconsole.ui.screens.audit import AuditRecordScreen, AuditScreen


async def test_operation_and_result_come_first_and_enter_shows_the_record_whole(
        console, audit):
    audit.append(AuditRecord(
        user="teacher-with-a-long-name", role="operator",
        source="ssh:2001:db8:4006:812::200e:51234", cluster="course-lab-cluster",
        target="qemu/100", operation="start", result="refused: web1 is running already",
        parameters={"a-parameter-name-" * 6: "its-value"}))
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await pilot.press("a")
        assert isinstance(c.app.screen, AuditScreen)
        await wait_until(pilot, lambda: any("start" in line for line in screen_lines(c.app)),
                         10, "the record on screen")
        [row] = [line for line in screen_lines(c.app) if "teacher" in line]
        assert "start" in row and "refused" in row
        assert "2001:db8" not in row  # the source is further right: Enter shows it
        await pilot.press("enter")
        assert isinstance(c.app.screen, AuditRecordScreen)
        await wait_until(pilot, lambda: any("2001:db8:4006:812::200e:51234" in line
                                            for line in screen_lines(c.app)),
                         10, "the whole source in the record's view")
        assert any("its-value" in line for line in screen_lines(c.app))  # not squeezed out
        await pilot.press("escape")
        assert isinstance(c.app.screen, AuditScreen)


async def test_main_screen_keys_do_nothing_behind_the_audit_and_help_screens(console):
    """A tester's finding: `w` and `e` on the audit screen pinged the guest and hid the
    events panel behind it, unseen, and its footer offered them."""
    from vmconsole.ui.screens.help import HelpScreen
    from vmconsole.ui.widgets.ping_panel import PingPanel

    c = console()
    async with c.app.run_test(size=(100, 40)) as pilot:
        guest = await on_guest(pilot, c, "web1")
        tasks = c.app.query_one("#tasks")
        tasks_shown = tasks.has_class("visible")
        watches = c.app.ping_watches
        for opener, screen in (("a", AuditScreen), ("question_mark", HelpScreen)):
            await act(pilot, opener)
            assert isinstance(c.app.screen, screen)
            offered = {b.binding.action for b in c.app.screen.active_bindings.values()}
            assert not offered & {"ping", "toggle_tasks", "audit", "toggle_teaching"}
            await act(pilot, "w", "t", "a")
            assert isinstance(c.app.screen, screen)  # no second audit screen on top
            await act(pilot, "escape")
            assert not isinstance(c.app.screen, screen)
            assert watches.running_on("lab", guest) is None
            assert not c.app.query(PingPanel)  # made when first shown
            assert tasks.has_class("visible") == tasks_shown
        await act(pilot, "w")  # on the main screen, the same key pings
        assert watches.running_on("lab", guest) is not None


async def test_esc_in_a_filter_box_leaves_the_box_and_a_second_esc_closes(console, audit):
    """A tester's finding: Esc in a filter box closed the whole audit screen."""
    audit.append(AuditRecord(user="alice", role="operator", source="local", cluster="lab",
                             target="qemu/100", operation="start", result="started"))
    audit.append(AuditRecord(user="bob", role="operator", source="local", cluster="lab",
                             target="qemu/100", operation="stop", result="stopped"))
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "a", "slash", *"bob")
        screen = c.app.screen
        assert isinstance(screen, AuditScreen)
        await wait_until(pilot, lambda: "1 of 2 records" in " ".join(screen_lines(c.app)),
                         10, "the filtered records")
        await act(pilot, "escape")
        assert c.app.screen is screen
        assert c.app.focused is screen.query_one("#audit-table")
        assert screen.filters == ("bob", "qemu/100")  # left, not cleared
        await act(pilot, "escape")
        assert not isinstance(c.app.screen, AuditScreen)


async def test_a_records_long_values_are_shown_whole(console, audit):
    """A tester's finding: the record's view cut a 5,000-character description and the
    UPID with an ellipsis; a value with no space to wrap at is folded over lines."""
    upid = "UPID:pve1:0001A2B3:0F0E0D0C:656E7A12:qmigrate:100:root@pam:" + "7" * 90 + "Z"
    audit.append(AuditRecord(user="alice", role="operator", source="local", cluster="lab",
                             target="qemu/100", operation="snapshot", result="started",
                             task_id=upid,
                             parameters={"description": "d" * 5000 + "THE-END\x1b[2J"}))
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "a")
        await wait_until(pilot, lambda: any("snapshot" in line for line in screen_lines(c.app)),
                         10, "the record on screen")
        await act(pilot, "enter")
        assert isinstance(c.app.screen, AuditRecordScreen)
        lines = screen_lines(c.app)
        start = next(i for i, line in enumerate(lines) if "Task" in line)
        column = lines[start].index("UPID")
        task = "".join(line[column:].split("│")[0].strip() for line in lines[start:start + 4])
        assert task.startswith(upid)
        await act(pilot, "end")
        assert any(line.rstrip(" │▁▂▃▄▅▆▇█").endswith("THE-END\\x1b[2J")
                   for line in screen_lines(c.app))  # whole, its escape made visible


def said(app, words: str) -> int:
    """How many lines of the screen hold `words`."""
    return sum(words in line for line in screen_lines(app))


async def test_lines_that_are_not_records_are_said_once_with_how_many(console, audit):
    """A tester's finding: `vmconsole audit` warned of the malformed lines it skipped;
    the screen skipped them without a word. Another: a time past what `time.localtime`
    takes (1e300) stopped the reading ("failed internal error: OverflowError") and hid
    every record after it."""
    def started(user: str) -> AuditRecord:
        return AuditRecord(user=user, role="operator", source="local", cluster="lab",
                           target="qemu/100", operation="start", result="started")

    audit.append(started("alice"))
    with audit.path.open("ab") as handle:
        handle.write(b'{"user": "[bold]torn\x1b[2J"\n')
        handle.write(b"\xff\xfe not UTF-8\n")
        handle.write(json.dumps({**asdict(started("mallory")), "time": 1e300}).encode()
                     + b"\n")
    audit.append(started("bob"))
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "a")
        first = "3 lines of the log are not audit records and were skipped (lines 2, 3, 4)"
        await wait_until(pilot, lambda: said(c.app, first), 10, "the skipped lines said")
        assert said(c.app, first) == 1 and said(c.app, "2 of 2 records") == 1
        with audit.path.open("ab") as handle:  # one more, while the screen is open
            handle.write(b"not json\n")
        audit.append(started("carol"))
        more = "4 lines of the log are not audit records and were skipped (lines 2, 3, 4, 6)"
        await wait_until(pilot, lambda: said(c.app, "3 of 3 records"), 10, "carol's record")
        assert said(c.app, more) == 1 and said(c.app, "skipped") == 1


async def test_a_long_target_is_cut_and_the_operation_and_result_stay_on_screen(
        console, audit):
    """A tester's finding: a 5,000-character target pushed the Operation and Result
    columns off the screen."""
    audit.append(AuditRecord(user="teacher", role="admin", source="local", cluster="lab",
                             target="qemu/" + "9" * 5000, operation="migrate",
                             result="started"))
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await poll(pilot, c)
        await act(pilot, "a")  # on the cluster: every record
        screen = c.app.screen
        assert isinstance(screen, AuditScreen) and screen.filters == ("", "")
        await wait_until(pilot, lambda: said(c.app, "teacher"), 10, "the record on screen")
        [row] = [line for line in screen_lines(c.app) if "teacher" in line]
        assert "qemu/999" in row and "9…" in row
        assert "migrate" in row and "started" in row
        await act(pilot, "enter")  # the record's own view shows the target whole
        assert isinstance(c.app.screen, AuditRecordScreen)
        shown = plain(c.app.screen.query_one("Static").render())
        assert "qemu/" + "9" * 5000 in re.sub(r"\s+", "", shown)



async def test_in_ascii_mode_at_80_columns_the_key_line_shows_every_key(console, audit):
    """A tester's finding: in ASCII mode the key line (`left right Columns  enter
    Record ...`) ran past 80 columns: `q Quit` was cut to `q Qui` under the palette's key."""
    audit.append(AuditRecord(user="alice", role="operator", source="local", cluster="lab",
                             target="qemu/100", operation="start", result="started"))
    c = console(ascii=True)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "a")
        assert isinstance(c.app.screen, AuditScreen)

        def key_line() -> str:
            return " ".join(screen_lines(c.app)[-1].split())

        await wait_until(pilot, lambda: said(c.app, "1 of 1 records"), 10, "the record")
        await wait_until(pilot, lambda: key_line() == (
            "left right Columns enter Record esc Back / Filter ? Help q Quit ^p palette"),
            10, "every key on the key line", seen=key_line)
