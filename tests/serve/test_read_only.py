"""A read-only server (`vmconsole serve --read-only`, a profile's `read_only = true`):
every console refuses every change, an admin's too, and says so in its header; the hub
refuses a change that a session process asks for anyway."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.serve.conftest import Keys, Running
from tests.serve.terminal import open_terminal
from tests.serve.test_roles import on_row
from vmconsole.actor import Actor, Role
from vmconsole.audit import AuditLog
from vmconsole.backends.base import AuthError
from vmconsole.monitor.poller import PollLoop
from vmconsole.operations import READ_ONLY_REFUSAL
from vmconsole.serve.hub import PollHub
from vmconsole.serve.limits import Limits
from vmconsole.serve.server import ConsoleServer, ServeSettings

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def read_only(keys: Keys, lab_loop: PollLoop, limits: Limits,
                    tmp_path) -> AsyncIterator[Running]:
    server = ConsoleServer([lab_loop], ServeSettings(
        keys.host, keys.authorized, limits=limits, audit=AuditLog(tmp_path / "audit.jsonl"),
        read_only=True))
    host, port = await server.start("127.0.0.1", 0)
    yield Running(server, host, port, keys)
    await server.stop(timeout=10.0)


async def test_an_admins_served_migration_is_refused_and_audited(read_only: Running) -> None:
    async with await read_only.connect("admin", username="root") as conn:
        term = await open_terminal(conn, 120, 30)
        await term.wait_for("root (admin, read-only)")
        await on_row(term, "web1", 2)
        term.press("m")
        await term.wait_until(lambda t: READ_ONLY_REFUSAL in t.notifications,
                              what="the refusal")
    [record] = list(read_only.server.settings.audit.read())
    assert (record.user, record.role, record.operation, record.result) == (
        "root", "admin", "migrate", f"refused: {READ_ONLY_REFUSAL}")


def test_the_hub_refuses_a_change_and_serves_a_reading(lab_loop: PollLoop, tmp_path) -> None:
    hub = PollHub(lab_loop, AuditLog(tmp_path / "audit.jsonl"), read_only=True)
    admin = Actor("root", Role.ADMIN, "ssh:127.0.0.1:5000")
    with pytest.raises(AuthError, match="start: this server is read-only"):
        hub.call(admin, "start", ("qemu/103",), {})
    with pytest.raises(AuthError, match="set_time_scale: this server is read-only"):
        hub.call(admin, "set_time_scale", (0.0,), {})
    assert hub.call(admin, "next_vmid", (), {}) == lab_loop.backend.next_vmid()
    assert lab_loop.backend.tasks() == []
