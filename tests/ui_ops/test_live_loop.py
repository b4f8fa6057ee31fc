"""With a running poll loop (its own thread) and the simulator on a fast real clock: an
operation asks for a prompt poll, and the tree follows without anyone polling by hand."""

from __future__ import annotations

from tests.ui_ops.helpers import act, select_in, settle, tree_parent
from vmconsole.actor import Actor, Role
from vmconsole.backends.sim import RealClock, SimBackend
from vmconsole.config import SimCluster
from vmconsole.monitor.poller import Poller, PollLoop
from vmconsole.ui.app import VMConsoleApp

SPEED = 50.0  # a 17 s migration takes about a third of a second


async def test_a_migration_shows_in_the_tree_from_the_loops_own_polls(audit):
    backend = SimBackend(SimCluster(), clock=RealClock(SPEED))
    loop = PollLoop(Poller(backend, interval=0.2))
    app = VMConsoleApp([loop], actor=Actor("alice", Role.OPERATOR), audit=audit)
    loop.start()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(50):
                await pilot.pause(0.05)
                if loop.poller.inventory is not None and app.latest:
                    break
            await select_in(pilot, loop, "web1")
            await act(pilot, "m", "enter")
            for _ in range(100):  # at most 5 s of wall time
                await pilot.pause(0.05)
                if tree_parent(app, "web1") == "node/pve2":
                    break
            assert tree_parent(app, "web1") == "node/pve2"
            for _ in range(100):  # the loop audits the task's end when a poll shows it
                if len(list(audit.read())) == 2:
                    break
                await pilot.pause(0.05)
            assert [r.result for r in audit.read()] == ["started", "ok"]
            # Stop polling and let the last messages land before the app goes: the app's
            # poll and highlight handlers fail if one arrives during teardown (reported).
            loop.stop(timeout=2.0)
            await settle(pilot)  # the messages queued, and those their handlers post
    finally:
        loop.stop(timeout=2.0)
