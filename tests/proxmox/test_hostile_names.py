"""Names Proxmox VE accepts are data in the console: a guest called `[/]db` (an
unbalanced close tag to Rich and Textual) is shown as written in the tree, the shutdown
form, the snapshot panel and the ping monitor's word about it, against fakepve, and the
console keeps running."""

from __future__ import annotations

from tests.ui_ops.helpers import act, show_guest, shown_text
from vmconsole.actor import Actor, Role
from vmconsole.audit import AuditLog
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.modals.shutdown import ShutdownForm
from vmconsole.ui.modals.snapshots import SnapshotPanel

NAME = "[/]db"


async def test_a_guest_named_with_an_unbalanced_close_tag(fakepve, backend, tmp_path):
    fakepve.set(guest=100, name=NAME)  # web, running on pve1
    loop = PollLoop(Poller(backend, interval=1.0))
    app = VMConsoleApp([loop], actor=Actor("alice", Role.ADMIN, "local"),
                       audit=AuditLog(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(80, 24)) as pilot:
        await show_guest(pilot, loop, NAME)
        assert NAME in shown_text(app)
        await act(pilot, "d")
        assert isinstance(app.screen, ShutdownForm)
        assert f"Shut down {NAME} (qemu/100 on pve1)" in shown_text(app)
        await act(pilot, "escape")
        await act(pilot, "S")
        assert isinstance(app.screen, SnapshotPanel)
        assert f"Snapshots of {NAME} (qemu/100 on pve1)" in shown_text(app)
        await act(pilot, "escape")
        await act(pilot, "w")  # fakepve reports no IP: the monitor says so, by name
        assert NAME in shown_text(app, notifications=True)
        assert app.is_running
