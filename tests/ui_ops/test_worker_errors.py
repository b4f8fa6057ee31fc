"""Background work that fails is shown to the user, in the backend's words, and logged:
from a guest flow, an App worker and a screen's worker alike."""

from __future__ import annotations

import logging

from tests.ui_ops.helpers import act, on_guest, palette_search, screen_lines, settle
from tests.unit.test_audit_log import write_nested_lines
from vmconsole.actor import Role
from vmconsole.backends.base import BackendError
from vmconsole.ui.launch import log_to_file
from vmconsole.ui.screens.audit import AuditScreen

HOSTILE = "storage [san] is busy [/]\x1b]0;owned\x07"


def errors_shown(app) -> list[tuple[str, str]]:
    return [(n.title, n.message) for n in app._notifications if n.severity == "error"]


async def wait_for_error(pilot, rounds: int = 200) -> list[tuple[str, str]]:
    for _ in range(rounds):
        await pilot.pause()
        if shown := errors_shown(pilot.app):
            return shown
    raise AssertionError("no error notification")


async def run_command(pilot, title: str) -> None:
    """Choose a palette entry by its title."""
    await act(pilot, "ctrl+p")
    await palette_search(pilot, title)
    await act(pilot, "enter")


async def test_a_flow_whose_backend_call_raises_says_so_literally(console, monkeypatch,
                                                                   caplog):
    c = console()

    def busy(guest_id: str) -> object:
        raise BackendError(HOSTILE)

    monkeypatch.setattr(c.backend, "migration_targets", busy)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        with caplog.at_level(logging.ERROR):
            await act(pilot, "m")
            [(title, message)] = await wait_for_error(pilot)
        assert message == "storage [san] is busy [/]\\x1b]0;owned\\x07"
        assert title == "reading migration targets: failed"
        assert c.app.is_running and c.app.screen is c.app.screen_stack[0]
        assert any("migration targets" in r.getMessage() for r in caplog.records)


async def test_an_app_worker_that_raises_a_bug_is_reported_with_its_type(console,
                                                                         monkeypatch,
                                                                         caplog):
    c = console(role=Role.ADMIN)

    def broken() -> list[str]:
        raise RuntimeError("summary [b]broken")

    monkeypatch.setattr(c.backend, "scenario_summary", broken)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        with caplog.at_level(logging.ERROR):
            await run_command(pilot, "Scenario summary")
            [(title, message)] = await wait_for_error(pilot)
        assert (title, message) == ("Scenario summary: failed",
                                    "internal error: RuntimeError: summary [b]broken")
        assert c.app.is_running
        [record] = [r for r in caplog.records if r.exc_info]
        assert "Scenario summary" in record.getMessage()
        assert record.exc_info[0] is RuntimeError


async def test_a_screens_worker_failure_reaches_the_app(console, audit, monkeypatch):
    c = console()

    def unreadable(offset: int = 0, line: int = 0) -> object:
        raise PermissionError(13, "Permission denied", str(audit.path))

    monkeypatch.setattr(audit, "read_chunk", unreadable)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await pilot.press("a")
        [(title, message)] = await wait_for_error(pilot)
        assert isinstance(c.app.screen, AuditScreen) and c.app.is_running
        assert title == "Reading the audit log: failed"
        assert message == (f"internal error: PermissionError: [Errno 13] Permission denied: "
                           f"'{audit.path}'")
        await settle(pilot)


async def test_the_log_line_lands_in_the_console_log_file(console, monkeypatch, tmp_path):
    c = console(role=Role.ADMIN)

    def broken() -> list[str]:
        raise RuntimeError("summary broken")

    monkeypatch.setattr(c.backend, "scenario_summary", broken)
    path = tmp_path / "state" / "vmconsole" / "console.log"
    handler = log_to_file(path)
    assert handler is not None
    try:
        async with c.app.run_test(size=(80, 24)) as pilot:
            await on_guest(pilot, c, "web1")
            await run_command(pilot, "Scenario summary")
            await wait_for_error(pilot)
    finally:
        logging.getLogger("vmconsole").removeHandler(handler)
        handler.close()
    written = path.read_text()
    assert "ERROR vmconsole.ui.base_app: background work 'Scenario summary'" in written
    assert "RuntimeError: summary broken" in written  # the traceback, for a bug report


async def test_the_audit_screen_lists_the_records_around_a_line_nested_too_deeply(console,
                                                                                   audit):
    """A tester's finding: `a` said "Reading the audit log: failed / internal error:
    RecursionError" for a log with one line of 100,000 nested `[`, and listed none of its
    3 records."""
    write_nested_lines(audit)
    c = console()
    async with c.app.run_test(size=(100, 30)) as pilot:
        await on_guest(pilot, c, "web1")
        await pilot.press("a")
        for _ in range(200):
            await pilot.pause()
            text = "\n".join(screen_lines(c.app))
            if isinstance(c.app.screen, AuditScreen) and "3 of 3 records" in text:
                break
        assert "3 of 3 records" in text, text
        assert ("2 lines of the log are not audit records and were skipped (lines 2, 3)"
                in text)
        assert all(name in text for name in ("alice", "bob", "carol"))
        assert errors_shown(c.app) == []
