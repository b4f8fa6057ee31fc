"""The rebalance screen (`L`): the plan shown as a what-if, one move applied after
confirmation and the guest moving in the tree, the audit record; a viewer sees the plan
and cannot apply it."""

from __future__ import annotations

import dataclasses
import time

from textual.geometry import Region
from textual.widgets import DataTable

from tests.frozen import FrozenConsole
from tests.ui_ops.helpers import act, notes, on_guest, poll, shown_text, tree_parent
from vmconsole.actor import Actor, Role
from vmconsole.backends.base import BackendError, Unreachable
from vmconsole.config import SimCluster
from vmconsole.model import NodeStatus
from vmconsole.ui.modals.confirm import ConfirmScreen
from vmconsole.ui.rebalance import unreachable
from vmconsole.ui.screens.rebalance import RebalanceScreen


async def until(pilot, condition, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        await pilot.pause(0.02)


async def open_plan(pilot, c, guest: str = "web1") -> RebalanceScreen:
    await on_guest(pilot, c, guest)  # any row of the cluster
    await act(pilot, "L")
    screen = pilot.app.screen
    assert isinstance(screen, RebalanceScreen)
    await until(pilot, lambda: screen.plan is not None, "the plan is computed")
    await pilot.pause()
    return screen


async def test_the_plan_is_shown_and_one_move_migrates_the_guest(console, audit):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        screen = await open_plan(pilot, c)
        text = shown_text(c.app)
        # the imbalance is Proxmox's: the coefficient of variation of the node loads
        assert "static scheduler (Proxmox's TOPSIS): imbalance 0.21 → 0.09, 1 move(s)" in text
        # a gain is the imbalance a move removes: positive, in the header's unit
        assert "proxy1" in text and "+0.11" in text and "planned" in text
        assert "-0.11" not in text
        moves = screen.query_one("#moves", DataTable)
        assert [str(col.label) for col in moves.columns.values()] == [
            "Guest", "From", "To", "Gain", "State"]
        assert "31→25%" in text  # pve2's memory before and after
        assert "build1 (pve3): local disks scsi0 on local-lvm: cannot migrate live" in text
        assert "db1 (pve2): pve1, pve3: prefer-pve2: priority 1 < 2" in text  # its HA group
        assert "TOPSIS score" in text  # why the highlighted move's target
        await act(pilot, "enter")
        await until(pilot, lambda: isinstance(c.app.screen, ConfirmScreen), "a question")
        assert "proxy1: pve2 → pve1 (imbalance -0.11)" in shown_text(c.app)
        await act(pilot, "y")
        assert c.app.screen is screen
        for _ in range(60):
            if screen.states.get("lxc/201") == "done":
                break
            await poll(pilot, c, advance=5)
            await pilot.pause(0.3)
        assert screen.states["lxc/201"] == "done"
        assert "done" in shown_text(c.app)
        # no move left: no key offers to apply one (a tester's finding: both stayed)
        await until(pilot, lambda: str(screen.query_one("#keys").visual) ==
                    "d static/dynamic  r recompute  ? help  esc/q close", "the key line")
        await act(pilot, "escape")
        await poll(pilot, c)
        assert tree_parent(c.app, "proxy1") == "node/pve1"
    [record] = [r for r in audit.read() if r.operation == "migrate" and r.result == "started"]
    assert record.target == "lxc/201"
    assert record.parameters["node"] == "pve1" and record.parameters["mode"] == "restart"


async def test_a_viewer_sees_the_plan_but_cannot_apply_it(console, audit):
    c = console(Role.VIEWER)
    async with c.app.run_test(size=(80, 24)) as pilot:
        screen = await open_plan(pilot, c)
        assert "your role is viewer" in shown_text(c.app) and "the plan only" in shown_text(
            c.app)
        await act(pilot, "enter", "A")
        assert c.app.screen is screen and not screen.states
        assert "your role is viewer" in " ".join(notes(c.app))
        await until(pilot, lambda: list(audit.read()), "the refusal audited")
    # A refusal is audited, as every other refusal of a change; nothing migrated.
    records = list(audit.read())
    assert {(r.operation, r.target, r.result.split(":")[0]) for r in records} == {
        ("migrate", "cluster", "refused")}


def table_lines(table: DataTable) -> str:
    """The table as drawn on the terminal, row after row (cut columns cut here too)."""
    strips = table.render_lines(Region(0, 0, table.size.width, table.size.height))
    return "\n".join(strip.text for strip in strips)


async def test_closing_while_a_move_runs_leaves_it_running(console, audit):
    """Esc at once after `y`: the screen closes, nothing is raised (the worker following
    the move is cancelled with its screen), and the migration carries on to its end."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        screen = await open_plan(pilot, c)
        await act(pilot, "enter")
        await until(pilot, lambda: isinstance(c.app.screen, ConfirmScreen), "a question")
        await act(pilot, "y")
        await until(pilot, lambda: screen.states.get("lxc/201", "").startswith("migrating"),
                    "the migration started")
        await pilot.pause()
        # the State column is wide enough for what it says
        assert screen.states["lxc/201"] in table_lines(screen.query_one("#moves", DataTable))
        await act(pilot, "escape")
        assert c.app.screen is not screen
        await until(pilot, lambda: screen.states.get("lxc/201") == (
            "left running (screen closed)"), "the worker let go of the move")
        for _ in range(60):
            await poll(pilot, c, advance=5)
            if tree_parent(c.app, "proxy1") == "node/pve1":
                break
        assert tree_parent(c.app, "proxy1") == "node/pve1"
        assert c.app.is_running and c.app._exception is None
    assert [r.target for r in audit.read() if r.result == "started"] == ["lxc/201"]


async def test_the_question_says_a_container_migrates_by_restart(console, audit):
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        screen = await open_plan(pilot, c)
        await act(pilot, "A")
        await until(pilot, lambda: isinstance(c.app.screen, ConfirmScreen), "a question")
        question = shown_text(c.app)
        # proxy1 is a container: Proxmox migrates it by restart (audited mode=restart)
        assert "proxy1: pve2 → pve1 (imbalance -0.11), restart" in question
        assert "a container by restart" in question and "live" not in question
        await act(pilot, "n")
        assert c.app.screen is screen and not screen.states
    assert not list(audit.read())


async def test_apply_all_is_refused_for_a_viewer_and_audited(console, audit):
    c = console(Role.VIEWER)
    async with c.app.run_test(size=(80, 24)) as pilot:
        screen = await open_plan(pilot, c)
        await act(pilot, "A")
        assert c.app.screen is screen and not screen.states
        assert "your role is viewer" in " ".join(notes(c.app))
        await until(pilot, lambda: list(audit.read()), "the refusal audited")
    assert [(r.operation, r.result.split(":")[0]) for r in audit.read()] == [
        ("migrate", "refused")]


async def test_closing_during_apply_all_asks_before_dropping_the_moves_not_started(audit):
    """`A`, `y`, then Esc while the first of several moves runs: the operator is asked,
    `n` keeps the run going, and `y` closes saying how many moves were dropped."""
    c = FrozenConsole(SimCluster(nodes=4, guests=30, seed=3),
                      actor=Actor("alice", Role.OPERATOR, "local"), audit=audit)
    async with c.app.run_test(size=(80, 24)) as pilot:
        screen = await open_plan(pilot, c, c.backend.inventory().guests[0].name)
        assert screen.plan is not None and len(screen.plan.moves) >= 2
        await act(pilot, "A")
        await until(pilot, lambda: isinstance(c.app.screen, ConfirmScreen), "a question")
        await act(pilot, "y")
        first = screen.plan.moves[0].guest
        await until(pilot, lambda: screen.states.get(first, "").startswith("migrating"),
                    "the first migration started")
        await act(pilot, "escape")
        await until(pilot, lambda: isinstance(c.app.screen, ConfirmScreen), "asked to close")
        left = len(screen.plan.moves) - 1
        assert f"{left} confirmed move(s) have not started" in shown_text(c.app)
        await act(pilot, "n")
        assert c.app.screen is screen and screen.busy
        await act(pilot, "escape")
        await until(pilot, lambda: isinstance(c.app.screen, ConfirmScreen), "asked again")
        await act(pilot, "y")
        await until(pilot, lambda: c.app.screen is not screen, "the plan closed")
        assert any("rebalance move(s) dropped, not started" in n for n in notes(c.app))
    assert [r.target for r in audit.read() if r.result == "started"] == [first]


async def test_at_80x24_the_columns_and_the_key_line_stay_whole(audit):
    """The second tester's finding: an empty plan's line widened the Guest column and cut
    State; a long list of guests that cannot move pushed the key line off the screen."""
    for nodes, guests, moves in ((1, 30, 0), (2, 40, 3)):  # 25 and 7 guests cannot move
        c = FrozenConsole(SimCluster(nodes=nodes, guests=guests, seed=3),
                          actor=Actor("alice", Role.OPERATOR, "local"), audit=audit)
        async with c.app.run_test(size=(80, 24)) as pilot:
            screen = await open_plan(pilot, c, c.backend.inventory().guests[0].name)
            assert screen.plan is not None and len(screen.plan.moves) == moves
            assert len(screen.plan.stuck) >= 7
            keys = screen.query_one("#keys")
            assert keys.is_on_screen and keys.region.bottom <= 23  # above the border
            assert str(keys.visual).endswith("esc/q close")
            table = screen.query_one("#moves", DataTable)
            if moves:
                assert table_lines(table).split()[:5] == ["Guest", "From", "To", "Gain",
                                                          "State"]
            else:
                assert not table.display and screen.query_one("#plan").scroll_y == 0
                assert "Nothing to move: the load is as even as the rules allow." in \
                    shown_text(c.app)


async def test_a_mode_key_typed_with_l_computes_that_plan(console):
    """`L d` in one burst (a tester at 80x24): `d` started the plan again while the first
    was read, and the cancelled read ended the console with WorkerCancelled. The dynamic
    plan is shown, as when `d` is typed once the screen is open."""
    from tests.ui_ops.test_form_typing import burst

    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        burst(c.app, "L", "d")
        await until(pilot, lambda: isinstance(c.app.screen, RebalanceScreen)
                    and "dynamic scheduler" in shown_text(c.app), "the dynamic plan")
        assert c.app.is_running


async def test_a_cluster_that_cannot_be_reached_gets_no_plan_and_no_keys_to_apply_one(
        console, audit, monkeypatch):
    """A tester's finding: the plan of a cluster whose backend did not answer listed
    "enter apply move · A apply all" as if it could act. It says why there is no plan,
    offers to try again or close, and tries again once the cluster answers."""
    c = console()
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        answers = c.backend.inventory

        def no_answer():
            raise Unreachable("no answer within 10 s")

        monkeypatch.setattr(c.backend, "inventory", no_answer)
        await poll(pilot, c)
        await act(pilot, "L")
        screen = c.app.screen
        assert isinstance(screen, RebalanceScreen)
        await until(pilot, lambda: "cannot be reached" in shown_text(c.app), "said why")
        assert "lab cannot be reached: no answer within 10 s\nNo plan until it answers." \
            in shown_text(c.app)
        assert str(screen.query_one("#keys").visual) == "r try again  ? help  esc/q close"
        assert not screen.query_one("#nodes").display  # no empty table of nodes
        await act(pilot, "enter", "A", "d")
        assert c.app.screen is screen and screen.mode == "static" and not screen.states
        monkeypatch.setattr(c.backend, "inventory", answers)
        await poll(pilot, c)
        await act(pilot, "r")
        await until(pilot, lambda: screen.plan is not None, "the plan once it answers")
        assert str(screen.query_one("#keys").visual).startswith("⏎ apply  A apply all")
        assert "1 move(s)" in shown_text(c.app)
    assert not list(audit.read())


async def test_a_plan_whose_read_failed_offers_only_to_try_again_or_close(
        console, audit, monkeypatch):
    """The plan's read can fail where the poll did not (the backend refused its HA
    rules, without which no plan is made). The key line still listed "⏎ apply  A apply
    all", which did nothing, and a failed `r` left the last plan on the screen under "No
    plan", its moves still applied by Enter. It says there is no plan and offers to try
    again or close, at the first read and after a plan."""
    c = console()
    answers = c.backend.placement_rules

    def refused() -> object:
        raise BackendError("permission check failed (/cluster/ha, Sys.Audit)")

    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        monkeypatch.setattr(c.backend, "placement_rules", refused)
        await act(pilot, "L")
        screen = c.app.screen
        assert isinstance(screen, RebalanceScreen)
        no_plan = "No plan: the cluster could not be read (see the notification)."
        await until(pilot, lambda: no_plan in shown_text(c.app), "said why")
        assert str(screen.query_one("#keys").visual) == "r try again  ? help  esc/q close"
        monkeypatch.setattr(c.backend, "placement_rules", answers)
        await act(pilot, "r")
        await until(pilot, lambda: screen.plan is not None, "the plan once it answers")
        keys = "⏎ apply  A apply all  d static/dynamic  r recompute  ? help  esc/q close"
        assert str(screen.query_one("#keys").visual) == keys
        first = screen.plan
        await act(pilot, "r")  # with the moves table focused, whose own Enter hid ⏎
        await until(pilot, lambda: screen.plan is not None and screen.plan is not first,
                    "the plan again")
        assert str(screen.query_one("#keys").visual) == keys
        monkeypatch.setattr(c.backend, "placement_rules", refused)
        await act(pilot, "r")
        await until(pilot, lambda: no_plan in shown_text(c.app), "said why again")
        assert str(screen.query_one("#keys").visual) == "r try again  ? help  esc/q close"
        assert not screen.query_one("#moves").display  # the last plan's moves are gone
        await act(pilot, "enter", "A", "d")
        assert c.app.screen is screen and screen.mode == "static" and not screen.states
    assert not list(audit.read())


def test_a_cluster_none_of_whose_hosts_answers_cannot_be_reached(console):
    """libvirt polls each host itself: with every one down the poll succeeds, each node
    carrying libvirt's error; with one host up the plan is for the hosts that answer."""
    c = console()
    c.poll()
    result = c.loop.latest
    assert result is not None and result.inventory is not None
    assert unreachable(result) == ""
    down = [dataclasses.replace(n, status=NodeStatus.OFFLINE, error="Connection refused")
            for n in result.inventory.nodes]
    every = dataclasses.replace(result, inventory=dataclasses.replace(
        result.inventory, nodes=tuple(down)))
    assert unreachable(every) == "; ".join(
        f"{n.name} unreachable: Connection refused" for n in down)
    some = dataclasses.replace(result, inventory=dataclasses.replace(
        result.inventory, nodes=(*down[1:], result.inventory.nodes[0])))
    assert unreachable(some) == ""


async def test_a_plan_no_one_waits_for_stops_asking_the_cluster(monkeypatch):
    """A plan asks the cluster guest by guest where each may go (a real cluster: tens of
    ms a guest; 10,000 guests: minutes). Asking for the plan again (`d`, the other mode)
    or closing the screen stops the asking for the plan no one waits for: it went on
    holding the backend (two plans asked at once after `d`)."""
    import threading

    from vmconsole.backends import placement

    asked: list[list[str]] = []
    ended: list[threading.Event] = []
    real_gather = placement.gather

    def gather(backend, inventory, progress=None):
        mine, done = [], threading.Event()
        asked.append(mine)
        ended.append(done)

        def slow(guest_id):
            mine.append(guest_id)
            time.sleep(0.3)
            return real_targets(guest_id)

        real_targets = type(backend).migration_targets.__get__(backend)
        backend.migration_targets = slow
        try:
            return real_gather(backend, inventory, progress)
        finally:
            done.set()

    monkeypatch.setattr(placement, "gather", gather)
    c = FrozenConsole(SimCluster(nodes=3, guests=60), actor=Actor("alice", Role.OPERATOR,
                                                                  "local"))
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, next(
            g.name for g in c.backend.inventory().guests if g.running))
        await pilot.press("L")  # not `act`: it waits for the workers, the asking too
        screen = c.app.screen
        assert isinstance(screen, RebalanceScreen)
        asking = "Asking the cluster where each guest may go: "
        await until(pilot, lambda: asking in shown_text(c.app), "the asking under way")
        await pilot.press("d")
        await until(pilot, lambda: len(ended) == 2 and ended[0].is_set(),
                    "the first plan's asking stopped", seconds=5)
        assert not ended[1].is_set()
        await pilot.press("escape")
        assert c.app.screen is not screen
        await until(pilot, ended[1].is_set, "the second plan's asking stopped", seconds=5)
        running = [g for g in c.backend.inventory().guests if g.running and not g.template]
        assert all(0 < len(mine) < len(running) - 1 for mine in asked), asked
        assert c.app.is_running and c.app._exception is None


async def test_help_over_the_plan_lists_its_keys_first_and_its_key_line_follows_the_keymap(
        console):
    """A tester's finding: `?` did nothing over the plan, and its key line was fixed
    text, naming Enter and A even where the keymap had moved them."""
    from vmconsole.config import parse_config
    from vmconsole.ui.screens.help import HelpScreen

    c = console(config=parse_config({"keys": {"rebalance.apply_all": "P"}}))
    async with c.app.run_test(size=(80, 24)) as pilot:
        screen = await open_plan(pilot, c)
        assert str(screen.query_one("#keys").visual) == (
            "⏎ apply  P apply all  d static/dynamic  r recompute  ? help  esc/q close")
        await act(pilot, "question_mark")
        help_screen = c.app.screen
        assert isinstance(help_screen, HelpScreen)
        first = [(row.keys, row.description) for row in help_screen.rows[:5]]
        assert {row.context for row in help_screen.rows[:5]} == {"in the rebalance plan"}
        assert ("P", "Apply all") in first and ("⏎", "Apply move") in first
        await act(pilot, "escape")
        assert c.app.screen is screen
