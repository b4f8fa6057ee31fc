"""Multi-select and bulk actions as a user meets them, on the simulator: Space and `*`
mark, the marks survive polls and filters, one confirmation lists every target and
every skip, each guest gets its own task and audit record, a failure of one does not
stop the others and the summary lists it."""

from __future__ import annotations

import time

from tests.frozen import FrozenConsole
from tests.ui_ops.helpers import (
    act,
    palette_search,
    poll,
    select,
    settle,
    shown_text,
    task_rows,
    tree_label,
)
from vmconsole.actor import Actor, Role
from vmconsole.config import Config, SimCluster
from vmconsole.ui.modals.bulk import BulkConfirmScreen
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef
from vmconsole.ui.widgets.task_slot import TaskSlot


def marked_console(audit, **config) -> FrozenConsole:
    return FrozenConsole(SimCluster(guests=12), audit=audit, config=Config(**config),
                         actor=Actor("alice", Role.OPERATOR, "local"))


async def run_until(pilot, c: FrozenConsole, done, step: float = 1.0,
                    seconds: float = 60.0) -> None:
    """Move the simulated clock `step` seconds at a time, polling, until `done()`."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the bulk action never ended"
        await poll(pilot, c, advance=step)
        await pilot.pause(0.05)


async def test_space_and_star_mark_guests_and_marks_survive_polls_and_filters(audit) -> None:
    c = marked_console(audit)
    async with c.app.run_test(size=(120, 40)) as pilot:
        await poll(pilot, c)
        await select(pilot, c, "vm-102")
        await act(pilot, "space", "space")  # marks vm-102, then the next row, vm-105
        tree = c.app.query_one(ClusterTree)
        assert tree.marks.of("lab") == ["qemu/102", "qemu/105"]
        assert tree_label(c.app, "vm-102").startswith("✓ ")
        assert "clusters · 2 marked" in shown_text(c.app)
        await poll(pilot, c, advance=5.0)
        assert tree_label(c.app, "vm-105").startswith("✓ ")
        await act(pilot, "slash", *"ct-", "enter")  # a filter hides the marked VMs
        await act(pilot, "asterisk")  # marks the five containers shown
        assert len(tree.marks) == 2 + 5
        await act(pilot, "escape")
        assert tree_label(c.app, "vm-102").startswith("✓ ")  # back, still marked
        await act(pilot, "asterisk")  # not every guest shown is marked: marks them all
        assert len(tree.marks) == 12
        await act(pilot, "asterisk")  # all marked: clears
        assert len(tree.marks) == 0
        assert "marked" not in shown_text(c.app)


async def test_bulk_start_lists_every_target_and_skip_and_a_failure_does_not_stop_the_others(
        audit) -> None:
    c = marked_console(audit, bulk_concurrency=2)
    stopped = ["qemu/102", "qemu/103", "qemu/104", "qemu/105", "lxc/107"]
    for gid in stopped:
        c.backend.stop(gid)
    c.clock.advance(5.0)
    c.backend.lock_guest("qemu/104", "backup")  # its start is refused when its turn comes
    async with c.app.run_test(size=(120, 40)) as pilot:
        await poll(pilot, c)
        tree = c.app.query_one(ClusterTree)
        tree.marks.marked |= {("lab", g) for g in [*stopped, "qemu/106", "qemu/100"]}
        await select(pilot, c, "vm-102")
        await pilot.press("s")
        await settle(pilot)
        screen = c.app.screen
        assert isinstance(screen, BulkConfirmScreen)
        text = shown_text(c.app)
        # The title and the question count the same guests (a tester's finding: "Start
        # 5 guests" over "Start these 7 guests?"), and the question says what was skipped.
        assert "Start 5 guests" in text
        assert "Start these 5 guests? 2 of the 7 marked are skipped (below)." in text
        for name in ("vm-102", "vm-103", "vm-104", "vm-105", "ct-107"):
            assert f"{name} (" in text and "start" in text
        assert "skipped vm-106 (qemu/106 on pve1): vm-106 is running already" in text
        assert "skipped vm-template-100 (qemu/100 on pve1): start does not apply" in text \
            or "skipped vm-template-100 (qemu/100 on pve1): a template cannot be started" in text
        await pilot.press("y")
        await run_until(pilot, c, lambda: any(
            r[3] == "bulk start" and ("ERROR" in r[6] or "OK" in r[6].upper())
            for r in task_rows(c.app)))
        rows = task_rows(c.app)
        summary = next(r for r in rows if r[3] == "bulk start")
        assert "ERROR" in summary[6]
        inventory = c.loop.poller.inventory
        running = {g.id for g in inventory.guests if g.running}
        assert {"qemu/102", "qemu/103", "qemu/105", "lxc/107"} <= running
        assert "qemu/104" not in running
        starts = [r for r in rows if r[3] == "start"]
        assert len(starts) == 4  # each its own task; the refused one started none
        # One actor, one name: the bulk task's user is its starts' as the cluster logged
        # them, not the console user's ("alice").
        assert {r[4] for r in [summary, *starts]} == {"root@pam"}
        failures = "\n".join(str(n.message) for n in c.app._notifications)
        assert "vm-104" in failures and "lock" in failures
        records = [r for r in audit.read() if r.operation == "start"]
        assert sorted(r.target for r in records if r.result == "started") == sorted(
            ["qemu/102", "qemu/103", "qemu/105", "lxc/107"])
        assert any(r.target == "qemu/104" and r.result.startswith("error") for r in records)


async def test_maintenance_shows_the_plan_then_empties_the_node_which_takes_no_new_guests(
        audit) -> None:
    c = FrozenConsole(SimCluster(guests=12), audit=audit,
                      actor=Actor("alice", Role.ADMIN, "local"))
    async with c.app.run_test(size=(120, 40)) as pilot:
        await poll(pilot, c)
        tree = c.app.query_one(ClusterTree)
        assert tree.select_ref(TreeRef("lab", "node/pve1"))
        await pilot.pause()
        await pilot.press("M")
        await settle(pilot)
        assert isinstance(c.app.screen, BulkConfirmScreen)
        text = shown_text(c.app)
        for name in ("vm-103", "vm-106", "ct-109"):
            assert f"{name} (" in text
        assert "live migration to pve" in text and "restart migration to pve" in text
        assert "TOPSIS score " in text
        assert "skipped vm-template-100 (qemu/100 on pve1): a template: it runs nowhere" in text
        await pilot.press("y")
        await run_until(pilot, c, lambda: not any(
            g.node == "pve1" and g.running for g in c.loop.poller.inventory.guests), step=5.0)
        await run_until(pilot, c, lambda: "ha:" in tree_label(c.app, "pve1")
                        and "maintenance" in tree_label(c.app, "pve1"), step=5.0)
        await select(pilot, c, "vm-104")  # on pve2: pve1 is no target for it now
        await pilot.press("m")
        await settle(pilot)
        assert "pve1" in shown_text(c.app) and "in maintenance" in shown_text(c.app)
        await act(pilot, "escape")
        assert tree.select_ref(TreeRef("lab", "node/pve1"))
        await pilot.pause()
        await act(pilot, "M")  # off again, without a question
        await run_until(pilot, c, lambda: "maintenance" not in tree_label(c.app, "pve1"),
                        step=5.0)
        ops = [(r.operation, r.result) for r in audit.read() if r.target == "node/pve1"]
        assert ops == [("maintenance_enable", "done"), ("maintenance_disable", "done")]


async def test_delete_asks_first_then_the_guest_and_its_disks_are_gone(audit) -> None:
    c = FrozenConsole(SimCluster(), audit=audit, actor=Actor("alice", Role.OPERATOR))
    async with c.app.run_test(size=(120, 40)) as pilot:
        await poll(pilot, c)
        await select(pilot, c, "test1")
        c.app.action_guest("delete")  # the palette's entry
        await settle(pilot)
        assert "Delete test1" in shown_text(c.app) and "cannot be undone" in shown_text(c.app)
        await act(pilot, "y")
        await run_until(pilot, c, lambda: c.loop.poller.inventory.guest("qemu/103") is None)
        assert [(r.operation, r.result) for r in audit.read() if r.target == "qemu/103"] == [
            ("destroy", "started")]


async def test_the_palettes_delete_of_a_named_guest_deletes_that_guest_with_marks_set(
        audit) -> None:
    """The palette names its guest: "Delete: test1" deletes test1 alone, marks or not;
    the marks have their own entry, which says how many it acts on."""
    c = FrozenConsole(SimCluster(), audit=audit, actor=Actor("alice", Role.OPERATOR))
    async with c.app.run_test(size=(120, 40)) as pilot:
        await poll(pilot, c)
        tree = c.app.query_one(ClusterTree)
        tree.marks.marked |= {("lab", "qemu/102"), ("lab", "lxc/201")}
        await select(pilot, c, "test1")
        await act(pilot, "ctrl+p")
        await palette_search(pilot, "Delete")
        text = shown_text(c.app)
        assert "Delete: test1" in text and "Delete: 2 guests marked" in text
        await palette_search(pilot, ": test1")
        await act(pilot, "enter")
        assert not isinstance(c.app.screen, BulkConfirmScreen)
        assert "Delete test1" in shown_text(c.app)
        await act(pilot, "y")
        await run_until(pilot, c, lambda: c.loop.poller.inventory.guest("qemu/103") is None)
        inventory = c.loop.poller.inventory
        assert inventory.guest("qemu/102") is not None and inventory.guest("lxc/201") is not None
        assert [(r.target, r.operation) for r in audit.read()] == [("qemu/103", "destroy")]
        assert len(tree.marks) == 2

        await act(pilot, "ctrl+p")
        await palette_search(pilot, "Delete: 2 guests marked")
        await act(pilot, "enter")
        assert not isinstance(c.app.screen, BulkConfirmScreen)  # nothing to ask: refused
        text = "\n".join(str(n.message) for n in c.app._notifications)
        assert "skipped build1 (qemu/102 on pve3): build1 is running: stop it first" in text
        assert "skipped proxy1 (lxc/201 on pve2): proxy1 is running: stop it first" in text


STOPPED = ["qemu/102", "qemu/103", "qemu/104"]


def stopped_console(audit) -> FrozenConsole:
    """A console whose guests STOPPED are stopped, to be started one at a time."""
    c = marked_console(audit, bulk_concurrency=1)
    for gid in STOPPED:
        c.backend.stop(gid)
    c.clock.advance(5.0)
    return c


async def start_the_stopped(pilot, c: FrozenConsole) -> None:
    """Mark STOPPED and start them in one bulk action."""
    await poll(pilot, c)
    c.app.query_one(ClusterTree).marks.marked |= {("lab", g) for g in STOPPED}
    await select(pilot, c, "vm-102")
    await act(pilot, "s", "y")


async def test_quit_asks_while_bulk_tasks_run_and_not_once_they_ended(audit) -> None:
    c = stopped_console(audit)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await start_the_stopped(pilot, c)
        await act(pilot, "q")
        assert "3 tasks still running or queued; quit anyway?" in shown_text(c.app)
        await act(pilot, "n")  # No: the console stays, the work goes on
        assert not c.app.closing.is_set()
        await run_until(pilot, c, lambda: not c.app.unfinished)
        inventory = c.loop.poller.inventory
        assert {g.id for g in inventory.guests if g.running} >= set(STOPPED)
        await pilot.press("q")  # nothing runs: no question
        assert c.app.closing.is_set()


async def test_a_bulk_action_that_ends_while_the_console_closes_does_not_crash_it(audit) -> None:
    """CI, under load: a bulk action's last flush came after the console had begun to
    close and its task log was gone; the console ended with NoMatches."""
    c = stopped_console(audit)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await start_the_stopped(pilot, c)
        assert c.app.unfinished
        c.app.closing.set()  # as `exit` does, and then Textual removes the widgets
        await c.app.query_one(TaskSlot).remove()
        # The old code raised NoMatches here, at the flush, and run_test gave it back.
        await run_until(pilot, c, lambda: not c.app.unfinished)


async def test_bulk_migrate_to_the_node_a_guest_is_on_says_so_and_shutdown_says_what_happens(
        audit) -> None:
    from vmconsole.ui.bulk_plans import bulk_plan, shown

    c = marked_console(audit)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await poll(pilot, c)
        inventory = c.loop.poller.inventory
        guests = [g for g in inventory.guests if g.running and not g.template][:2]
        node = guests[0].node
        away = c.app.maintenance_nodes("lab")
        plan = bulk_plan("migrate", "lab", guests, inventory, c.backend, away, node)
        _, skipped = shown(plan)
        assert f"skipped {guests[0].name} ({guests[0].id} on {node}): already on {node}" in skipped
        plan = bulk_plan("shutdown", "lab", guests, inventory, c.backend, away)
        lines, _ = shown(plan)
        assert lines[0] == (f"{guests[0].name} ({guests[0].id} on {node}): shutdown by the "
                            "guest OS; the task fails if the guest still runs after 60 s")


async def test_one_marked_guest_is_asked_about_in_the_singular(audit) -> None:
    """A tester's finding: "Shutdown these guests?" with one guest marked."""
    c = marked_console(audit)
    c.backend.stop("qemu/102")
    c.clock.advance(5.0)
    async with c.app.run_test(size=(120, 40)) as pilot:
        await poll(pilot, c)
        c.app.query_one(ClusterTree).marks.marked |= {("lab", "qemu/102")}
        await select(pilot, c, "vm-102")
        await act(pilot, "s")
        assert isinstance(c.app.screen, BulkConfirmScreen)
        assert "Start this guest?" in shown_text(c.app)
        await act(pilot, "n")


async def test_a_bulk_action_with_no_guest_to_act_on_is_refused_in_words(audit) -> None:
    """A tester's finding: a one-guest bulk start that skips it asked "Start 0 guests"."""
    c = marked_console(audit)
    async with c.app.run_test(size=(120, 40)) as pilot:
        await poll(pilot, c)
        c.app.query_one(ClusterTree).marks.marked |= {("lab", "qemu/106")}  # running
        await select(pilot, c, "vm-106")
        await act(pilot, "s")
        assert not isinstance(c.app.screen, BulkConfirmScreen)
        notices = [(str(n.title), str(n.message)) for n in c.app._notifications]
        assert ("Start: nothing to do", "No marked guest to act on:\n"
                "skipped vm-106 (qemu/106 on pve1): vm-106 is running already") in notices
        assert not [n for n in notices if "0 guests" in "".join(n)]
        assert not [r for r in audit.read() if r.operation.startswith("bulk")]
