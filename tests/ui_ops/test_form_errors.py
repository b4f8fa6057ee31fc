"""A reason shown under a form's field goes once the field is fixed, before the next
submit; a field still wrong keeps its reason (the last tester's finding: old error
lines stayed under fixed fields until the next submit), and the refusal above the
buttons with the last field it was about; a backend's reason is said once, wherever its
message quotes it. A form closed while the backend works on its change still has what
came of it said."""

from __future__ import annotations

import threading

from textual.widgets import Input

from tests.ui_ops.helpers import act, notes, on_guest, screen_lines, task_rows, wait_until
from tests.ui_ops.test_ha_rules import error_of, fill, new_rule_form, open_crs_form, open_rules
from vmconsole.actor import Role
from vmconsole.backends.base import BackendError
from vmconsole.ui.modals.ha_rule_forms import NodeAffinityForm
from vmconsole.ui.modals.migrate import MigrateForm
from vmconsole.ui.modals.snapshot_create import SnapshotCreateForm


async def test_a_fixed_field_loses_its_reason_and_a_wrong_one_keeps_it(console, audit):
    c = console(Role.ADMIN)
    async with c.app.run_test(size=(80, 24)) as pilot:
        form = await open_crs_form(pilot, c)
        await fill(pilot, form, threshold="x", hold="0", margin="y")
        await act(pilot, "enter")
        assert error_of(form, "threshold") and error_of(form, "hold")
        await fill(pilot, form, threshold="x1")  # retyped, still no number
        assert error_of(form, "threshold") == "a number such as 0.3, or a percent (30%)"
        await fill(pilot, form, threshold="0.4", hold="5")  # fixed, not submitted
        assert (error_of(form, "threshold"), error_of(form, "hold")) == ("", "")
        assert error_of(form, "margin") == "a number such as 0.3, or a percent (30%)"
        await fill(pilot, form, margin="5")  # a number: its range is the backend's
        await act(pilot, "enter")
        assert error_of(form, "margin") == "0 to 1 (0.1: 10 % of the imbalance)"
        await fill(pilot, form, margin="0.2")  # the value the backend refused is gone
        assert error_of(form, "margin") == ""
        assert c.app.screen is form and list(audit.read())[-1].result.startswith("error")


async def pve9_refused(pilot, c) -> NodeAffinityForm:
    """A new node-affinity rule's form, its nodes pve9 (no such node), submitted."""
    await open_rules(pilot, c)
    form = await new_rule_form(pilot, "n", NodeAffinityForm)
    await fill(pilot, form, name="web-off", nodes="pve9", resources="vm:100")
    await pilot.press("enter")
    await wait_until(pilot, lambda: error_of(form, "nodes"), 10, "the backend's refusal")
    return form


async def test_a_refusal_is_said_in_the_form_not_in_a_toast_over_its_fields(console, audit):
    """A tester's finding: the backend's refusal of a submitted form came as a toast too,
    which hung over the form's first fields (the name the refusal may be about)."""
    c = console(Role.ADMIN)
    async with c.app.run_test(size=(80, 24)) as pilot:
        form = await pve9_refused(pilot, c)
        assert c.app.screen is form
        assert error_of(form, "nodes") == "no node pve9 (nodes: pve1, pve2, pve3)"
        assert "node-affinity rule refused" in str(form.query_one("#form-error").visual)
        assert notes(c.app) == []  # no toast
        assert list(audit.read())[-1].result.startswith("error")


def said(app, words: str) -> int:
    """How many lines of the screen, as the user sees it, say `words`."""
    return sum(words in line for line in screen_lines(app))


async def test_a_reason_the_message_quotes_after_its_own_words_is_said_once(console):
    """The backend's message quotes the reason it gives for the field without the
    field's name ("cannot migrate VM 100 (web1) to pve2: <reason>"): the form said it
    twice, above the buttons and under the field."""
    c = console()
    c.backend.sim.guests["qemu/100"].ha = None  # QEMU's own migration (no HA request)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "m")
        form = c.app.screen
        assert isinstance(form, MigrateForm)
        c.backend.sim.nodes["pve2"].maintenance = True  # after the form listed it
        await pilot.press("enter")  # pve2, the first target the form offered
        await wait_until(pilot, lambda: error_of(form, "node"), 10, "the refusal")
        assert error_of(form, "node") == "node 'pve2' is in maintenance mode"
        assert said(c.app, "maintenance mode") == 1, "\n".join(screen_lines(c.app))
        assert said(c.app, "cannot migrate VM 100 (web1) to pve2") == 1


async def test_another_target_node_takes_the_refusal_of_the_first(console):
    """A tester's finding: after pve2 was refused (in maintenance), moving the migrate
    form's cursor to pve3 left "node 'pve2' is in maintenance mode" under the list and
    "cannot migrate ... to pve2" above the buttons."""
    c = console()
    c.backend.sim.guests["qemu/100"].ha = None
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "m")
        form = c.app.screen
        c.backend.sim.nodes["pve2"].maintenance = True
        await pilot.press("enter")
        await wait_until(pilot, lambda: error_of(form, "node"), 10, "the refusal")
        await act(pilot, "down")  # pve3
        assert error_of(form, "node") == ""
        assert said(c.app, "maintenance mode") == 0, "\n".join(screen_lines(c.app))
        assert said(c.app, "cannot migrate") == 0


async def test_a_changed_field_takes_its_refusal_from_above_the_buttons(console):
    """"node-affinity rule refused" stayed above the buttons after the refused node was
    retyped, until the next submit."""
    c = console(Role.ADMIN)
    async with c.app.run_test(size=(80, 24)) as pilot:
        form = await pve9_refused(pilot, c)
        assert said(c.app, "node-affinity rule refused") == 1
        form.query_one("#nodes", Input).focus()
        await act(pilot, "backspace")  # "pve": a value the form's own check takes
        assert error_of(form, "nodes") == ""
        assert said(c.app, "node-affinity rule refused") == 0


async def test_a_refusal_read_on_esc_says_each_reason_once(console):
    """Esc at once after a refusal says it as a toast: it said the node's reason twice,
    in the backend's message and as the field's line."""
    c = console(Role.ADMIN)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await pve9_refused(pilot, c)
        await pilot.press("escape")
        await wait_until(pilot, lambda: notes(c.app), 10, "the refusal said")
        assert notes(c.app) == ["node-affinity rule refused\n"
                                "nodes: no node pve9 (nodes: pve1, pve2, pve3)"]


async def test_a_refusal_of_two_fields_stays_above_the_buttons_until_both_change(
        console):
    c = console(Role.ADMIN)
    async with c.app.run_test(size=(80, 24)) as pilot:
        form = await open_crs_form(pilot, c)
        await fill(pilot, form, threshold="11", margin="5")  # ranges the backend checks
        await act(pilot, "enter")
        assert error_of(form, "threshold") and error_of(form, "margin")
        assert said(c.app, "CRS settings refused") == 1
        await fill(pilot, form, margin="0.2")
        assert error_of(form, "margin") == "" and error_of(form, "threshold")
        assert said(c.app, "CRS settings refused") == 1  # the threshold is still refused
        await fill(pilot, form, threshold="0.4")
        assert said(c.app, "CRS settings refused") == 0


async def snapshot_submitted(pilot, c) -> SnapshotCreateForm:
    """web1's snapshot form, filled in and submitted with Enter."""
    await on_guest(pilot, c, "web1")
    await act(pilot, "S", "n")
    form = c.app.screen
    assert isinstance(form, SnapshotCreateForm)
    form.query_one("#name", Input).value = "before-upgrade"
    form.query_one("#name", Input).focus()
    await pilot.press("enter")
    return form


async def submitted_then_closed(pilot, c, answer: threading.Event, calls: list[str]) -> None:
    """Take a snapshot of web1 from its form, then Esc while the backend still works on
    it: the form closes, the backend's answer comes after."""
    form = await snapshot_submitted(pilot, c)
    await wait_until(pilot, lambda: calls, 10, "the backend called")
    await pilot.press("escape")
    await wait_until(pilot, lambda: c.app.screen is not form, 10, "the form closed")
    answer.set()


async def test_a_form_closed_while_its_change_runs_still_says_what_came_of_it(console, audit):
    """A tester's finding: Esc while a form's submission waited for the backend closed
    the form, and the snapshot it had asked for was taken with no word of it: no
    notification, nothing in the task log."""
    c = console()
    answer, calls = threading.Event(), []
    real = c.backend.snapshot_create

    def slow_snapshot(*args, **kwargs):  # a cluster that takes its time to answer
        calls.append("snapshot")
        answer.wait(10)
        return real(*args, **kwargs)

    c.backend.snapshot_create = slow_snapshot
    async with c.app.run_test(size=(80, 24)) as pilot:
        await submitted_then_closed(pilot, c, answer, calls)
        await wait_until(pilot, lambda: any(n.startswith("task ") for n in notes(c.app)), 10,
                         "the task's start said")
        await wait_until(pilot, lambda: any("snapshot" in " ".join(row).lower()
                                            for row in task_rows(c.app)), 10,
                         "the task in the task log")
    assert [r.operation for r in audit.read()] == ["snapshot"]


async def test_a_form_closed_while_its_change_runs_still_says_its_refusal(console):
    c = console()
    answer, calls = threading.Event(), []

    def refused_snapshot(*args, **kwargs):
        calls.append("snapshot")
        answer.wait(10)
        raise BackendError("storage local-lvm is full")

    c.backend.snapshot_create = refused_snapshot
    async with c.app.run_test(size=(80, 24)) as pilot:
        await submitted_then_closed(pilot, c, answer, calls)
        await wait_until(pilot, lambda: "storage local-lvm is full" in notes(c.app), 10,
                         "the refusal said")


async def test_a_refusal_that_comes_at_once_is_said_when_esc_followed_enter(console):
    """A tester's finding: Enter and Esc typed in one burst; the refusal came at once,
    was shown by the form's fields and went with the form before it could be read."""
    c = console()

    def refused_snapshot(*args, **kwargs):
        raise BackendError("storage local-lvm is full")

    c.backend.snapshot_create = refused_snapshot
    async with c.app.run_test(size=(80, 24)) as pilot:
        form = await snapshot_submitted(pilot, c)
        await wait_until(pilot, lambda: "storage local-lvm is full" in str(
            form.query_one("#form-error").visual), 10, "the refusal in the form")
        await pilot.press("escape")
        await wait_until(pilot, lambda: c.app.screen is not form, 10, "the form closed")
        assert "storage local-lvm is full" in notes(c.app)
