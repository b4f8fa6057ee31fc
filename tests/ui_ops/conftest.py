from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from vmconsole.audit import AuditLog
from vmconsole.config import SimCluster
from vmconsole.session import Role, Session
from vmconsole.ui.frozen import FrozenConsole


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path, monkeypatch):
    """Keep the developer's own config, themes and audit log out of the tests."""
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv("VMCONSOLE_CONFIG", raising=False)
    monkeypatch.setenv("TZ", "UTC")  # task times in snapshots read the same everywhere
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def audit(tmp_path) -> AuditLog:
    return AuditLog(tmp_path / "audit.jsonl")


@pytest.fixture
def console(audit) -> Callable[..., FrozenConsole]:
    """A frozen console on the classic lab, as an operator unless told otherwise."""

    def make(role: Role = Role.OPERATOR, **kwargs: object) -> FrozenConsole:
        kwargs.setdefault("audit", audit)
        return FrozenConsole(SimCluster(), session=Session("alice", role, "local"), **kwargs)

    return make


