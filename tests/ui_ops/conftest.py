from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.frozen import FrozenConsole
from vmconsole.actor import Actor, Role
from vmconsole.audit import AuditLog
from vmconsole.config import SimCluster


@pytest.fixture
def audit(tmp_path) -> AuditLog:
    return AuditLog(tmp_path / "audit.jsonl")


@pytest.fixture
def console(audit) -> Callable[..., FrozenConsole]:
    """A frozen console on the classic lab, as an operator unless told otherwise."""

    def make(role: Role = Role.OPERATOR, **kwargs: object) -> FrozenConsole:
        kwargs.setdefault("audit", audit)
        return FrozenConsole(SimCluster(), actor=Actor("alice", role, "local"), **kwargs)

    return make


