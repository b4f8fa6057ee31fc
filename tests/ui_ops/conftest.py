from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from vmconsole.audit import AuditLog
from vmconsole.config import SimCluster
from vmconsole.session import Role, Session
from vmconsole.ui.frozen import FrozenConsole
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef

BACKGROUND_GROUPS = ("ops", "queries", "audit", "form", "snapshots", "snapshot-op")


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
        return FrozenConsole(SimCluster(), session=Session("alice", role, "local"),
                             audit=audit, **kwargs)

    return make


async def settle(pilot, rounds: int = 200) -> None:
    """Let keys, workers (backend calls in threads) and screen changes finish."""
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause()
        if not any(w.is_running for w in app.workers if w.group in BACKGROUND_GROUPS):
            await pilot.pause()
            return
        await asyncio.sleep(0.005)
    raise AssertionError("workers still running")


async def select(pilot, c: FrozenConsole, name: str) -> str:
    """Put the tree's cursor on the guest called `name`; returns its id."""
    inventory = c.loop.poller.inventory
    assert inventory is not None, "poll first"
    guest = next(g for g in inventory.guests if g.name == name)
    assert c.app.query_one(ClusterTree).select_ref(TreeRef(inventory.cluster, guest.id))
    c.app.query_one(ClusterTree).focus()
    await pilot.pause()
    return guest.id


async def poll(pilot, c: FrozenConsole, advance: float = 0.0) -> None:
    c.poll(advance)
    await pilot.pause()
    await pilot.pause()


def screen_text(app) -> str:
    """Everything on the current screen's widgets as plain text (labels, statics, inputs)."""
    from rich.console import Console
    from textual.widgets import Label, Static

    console = Console(width=200, record=True)
    for widget in app.screen.query(Static):
        if isinstance(widget, Label | Static):
            console.print(widget.render())
    return console.export_text()
