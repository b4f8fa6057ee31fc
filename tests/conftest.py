"""Suite-wide rules.

Every test runs with its own empty user directories (XDG config, data and state), no
config or audit log named by the environment, and UTC as the time zone, so neither the
developer's files nor the machine's zone can change what a test sees.

A test of a real part (libvirtd, the lab, network namespaces, fakepve, vcsim) skips when
the machine lacks it, saying why. When CI runs as root, `scripts/test.sh` has installed
everything those tests need, so a skip there means an install step is missing: it is
reported as a failure, never as a pass that hides the gap.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Generator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                        ) -> Generator[None, None, None]:
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    for var in ("VMCONSOLE_CONFIG", "VMCONSOLE_AUDIT_LOG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TZ", "UTC")  # task times in snapshots read the same everywhere
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(autouse=True)
def _questions_answered_once_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test answers a question as soon as it shows (a person takes 0.15 s and more:
    `QuestionScreen.ANSWER_AFTER_S`); the tests of that rule set it themselves. A
    served console's session process (a fork server's child) keeps the rule."""
    from vmconsole.ui.modals.question import QuestionScreen

    monkeypatch.setattr(QuestionScreen, "ANSWER_AFTER_S", 0.0)


def _skips_fail() -> bool:
    return bool(os.environ.get("CI")) and os.geteuid() == 0


def _fail_instead(report: pytest.TestReport) -> None:
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
    report.outcome = "failed"
    report.longrepr = (f"skipped in CI as root, where scripts/test.sh installs every real "
                       f"part: a missing install step? ({reason})")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and _skips_fail():
        _fail_instead(report)


# A module that skips as a whole is not turned into a collection error, which would stop
# the run before any other test: it is listed here and fails the session at its end.
_skipped_modules: list[str] = []


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped and _skips_fail():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        _skipped_modules.append(f"{report.nodeid}: {reason}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in _skipped_modules:
        terminalreporter.write_line(f"FAILED (skipped in CI as root) {line}", red=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped_modules and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def snap_compare(snap_compare):  # pytest-textual-snapshot's, wrapped
    """pytest-textual-snapshot's `snap_compare`, with the focused input's cursor held
    shown once `run_before` is done. Textual's Input blinks its cursor every 0.5 s, and
    the screenshot is taken after a few more pauses: on a busy machine those outlast a
    blink, and the same screen was caught with and without its cursor."""
    from textual.widgets import Input

    def compare(app, *args, run_before=None, **kwargs):
        async def then_steady(pilot) -> None:
            if run_before is not None:
                result = run_before(pilot)
                if inspect.isawaitable(result):
                    await result
            for box in pilot.app.screen.query(Input):
                if box.has_focus:
                    box._pause_blink(visible=True)

        return snap_compare(app, *args, run_before=then_steady, **kwargs)

    return compare
