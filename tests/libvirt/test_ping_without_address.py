"""`w` on a libvirt guest whose address the backend does not know (a stopped domain:
no source reports one): refused by name with the reason, no measurement of probes that
go nowhere."""

from __future__ import annotations

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from tests.ui_ops.helpers import act, show_guest
from vmconsole.actor import Actor, Role
from vmconsole.audit import AuditLog
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.widgets.ping_panel import PingPanel


async def test_w_on_a_guest_with_no_address_is_refused(cluster, tmp_path):
    loop = PollLoop(Poller(cluster, interval=1.0))
    app = VMConsoleApp([loop], actor=Actor("alice", Role.ADMIN, "local"),
                       audit=AuditLog(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(100, 30)) as pilot:
        guest = await show_guest(pilot, loop, "idle1")
        assert guest.ip is None
        await act(pilot, "w")
        messages = [n.message for n in app._notifications]
        # stopped: there is no outage to measure, whatever its addresses
        assert any(m.startswith("idle1 is stopped: no outage to measure") for m in messages), (
            messages)
        assert not list(app.ping_watches) and not app.query(PingPanel)
