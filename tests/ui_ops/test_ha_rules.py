"""The HA rules screen, the CRS form and the FT form as a teacher uses them: what the
screen lists, each form's refusal next to its field, the change in the list, the
cluster and the audit log, a question before a delete, and a viewer refused."""

from __future__ import annotations

import re

from textual.widgets import Button, Input

from tests.frozen import FrozenConsole
from tests.ui_ops.helpers import (
    act,
    detail_rows,
    notes,
    on_guest,
    poll,
    screen_lines,
    select,
    settle,
    shown_text,
    wait_until,
)
from vmconsole.actor import Actor, Role
from vmconsole.backends.sim.ft import FT_LINK_GBIT
from vmconsole.backends.sim.state import HAGroup
from vmconsole.config import SimCluster
from vmconsole.text import visible
from vmconsole.ui.modals.confirm import ConfirmScreen
from vmconsole.ui.modals.crs import CRSForm
from vmconsole.ui.modals.fault_tolerance import FaultToleranceForm
from vmconsole.ui.modals.ha_rule_forms import NodeAffinityForm, ResourceAffinityForm, RuleForm
from vmconsole.ui.screens.ha_rules import HARulesScreen
from vmconsole.ui.widgets.key_footer import KeyFooter


async def open_rules(pilot, c: FrozenConsole) -> HARulesScreen:
    await on_guest(pilot, c, "web1")
    await act(pilot, "R")
    screen = c.app.screen
    assert isinstance(screen, HARulesScreen)
    await wait_until(pilot, lambda: screen.rules is not None, 10, "the rules")
    return screen


async def new_rule_form(pilot, key: str, kind: type[RuleForm]) -> RuleForm:
    """The rules screen's form for a new rule of `kind`, opened with `key`."""
    await act(pilot, key)
    form = pilot.app.screen
    assert isinstance(form, kind)
    return form


async def open_crs_form(pilot, c: FrozenConsole) -> CRSForm:
    await open_rules(pilot, c)
    await act(pilot, "c")
    form = c.app.screen
    assert isinstance(form, CRSForm)
    return form


async def fill(pilot, form, **values: str) -> None:
    """Type into the form's text fields as a user would: focus, select all, type."""
    for name, value in values.items():
        box = form.query_one(f"#{name}", Input)
        box.focus()
        box.value = ""
        await pilot.pause()
        await pilot.press(*value) if value else None
    await pilot.pause()


def key_line(screen) -> str:
    """The words of a dialog's key line, as its keys show them."""
    return " ".join(f"{key.key_display} {key.description}"
                    for key in screen.query_one(KeyFooter).children)


def error_of(form, name: str) -> str:
    box = form.query_one(f"#error-{name}")
    return str(box.visual) if box.has_class("shown") else ""


async def reloaded(pilot, screen: HARulesScreen, text: str, present: bool = True) -> None:
    await wait_until(pilot, lambda: (text in shown_text(screen.app)) is present, 10,
                     f"{text!r} {'in' if present else 'gone from'} the list")


async def test_the_screen_lists_the_rules_and_creates_one_after_a_refusal(console, audit):
    c = console(Role.ADMIN)
    async with c.app.run_test(size=(80, 24)) as pilot:
        screen = await open_rules(pilot, c)
        text = shown_text(c.app)
        assert "HA rules of lab" in text
        assert "prefer-pve2" in text and "pve2:2 pve1:1 pve3:1" in text and "vm:101" in text
        assert "CRS: basic scheduler, auto-rebalance off" in text
        await act(pilot, "n")
        form = c.app.screen
        assert isinstance(form, NodeAffinityForm)
        assert "HA resources: vm:100 web1, vm:101 db1, ct:200 dns1" in shown_text(c.app)
        await fill(pilot, form, name="web-off-pve1", nodes="pve9", resources="vm:100")
        await act(pilot, "enter")
        assert c.app.screen is form, "a refused rule closed the form"
        assert error_of(form, "nodes") == "no node pve9 (nodes: pve1, pve2, pve3)"
        form.query_one("#affinity").value = "negative"  # type: ignore[attr-defined]
        form.query_one("#strict").value = True  # type: ignore[attr-defined]
        await fill(pilot, form, nodes="pve1")
        await act(pilot, "enter")
        await wait_until(pilot, lambda: c.app.screen is screen, 10, "the form to close")
        await reloaded(pilot, screen, "not pve1, strict")
        records = [(r.operation, r.target, r.result) for r in audit.read()]
        assert records == [("ha_node_affinity_set", "web-off-pve1", "error: node-affinity "
                            "rule refused: nodes: no node pve9 (nodes: pve1, pve2, pve3)"),
                           ("ha_node_affinity_set", "web-off-pve1", "done")]
        for _ in range(10):  # the CRM moves web1 off pve1 on its next rounds
            await poll(pilot, c, advance=10)
        web1 = c.loop.poller.inventory.guest("qemu/100")
        assert web1 is not None and web1.node != "pve1"


async def test_editing_keeps_the_name_and_deleting_asks_first(console, audit):
    c = console(Role.ADMIN)
    async with c.app.run_test(size=(80, 24)) as pilot:
        screen = await open_rules(pilot, c)
        await act(pilot, "down")  # prefer-pve2
        # One resource, in the singular (a tester read "vm:101 are placed").
        described = " ".join(shown_text(c.app).split())
        assert "prefer-pve2: node affinity, positive: vm:101 is placed on pve2" in described
        assert "elsewhere when none of them can take it." in described
        await act(pilot, "e")
        form = c.app.screen
        assert isinstance(form, NodeAffinityForm)
        assert form.query_one("#name", Input).disabled
        assert form.query_one("#nodes", Input).value == "pve1:1, pve2:2, pve3:1"
        await fill(pilot, form, nodes="pve2:-1")  # a whole number, below the range
        await act(pilot, "enter")
        assert error_of(form, "nodes") == ("'pve2:-1': a priority is a whole number from 0 "
                                           "to 1000 (pve2:2; the higher, the more preferred)")
        await fill(pilot, form, nodes="pve1:99999999999999999999")  # the tester's, 20 digits
        await act(pilot, "enter")
        assert error_of(form, "nodes").startswith(
            "'pve1:99999999999999999999': a priority is a whole number from 0 to 1000")
        await fill(pilot, form, nodes="pve2:2, pve3:1")
        await act(pilot, "enter")
        await reloaded(pilot, screen, "pve2:2 pve3:1")
        await act(pilot, "x")
        assert isinstance(c.app.screen, ConfirmScreen)
        assert "vm:101" in shown_text(c.app)  # what the delete frees
        await act(pilot, "n")
        assert c.app.screen is screen and "prefer-pve2" in shown_text(c.app)
        await act(pilot, "x")
        await act(pilot, "y")
        await reloaded(pilot, screen, "prefer-pve2", present=False)
        assert [(r.operation, r.result) for r in audit.read()] == [
            ("ha_node_affinity_set", "done"), ("ha_node_affinity_remove", "done")]
        await poll(pilot, c)
        db1 = c.loop.poller.inventory.guest("qemu/101")
        assert db1 is not None and db1.ha is not None and db1.ha.group is None


async def test_a_resource_rule_that_contradicts_another_is_refused_with_why(console):
    c = console(Role.ADMIN)
    async with c.app.run_test(size=(80, 24)) as pilot:
        screen = await open_rules(pilot, c)
        form = await new_rule_form(pilot, "r", ResourceAffinityForm)
        await fill(pilot, form, name="web-with-dns", resources="100, ct:200")
        await act(pilot, "enter")
        await reloaded(pilot, screen, "keep together")
        await act(pilot, "r")
        form = c.app.screen
        assert isinstance(form, ResourceAffinityForm)
        form.query_one("#affinity").value = "negative"  # type: ignore[attr-defined]
        await fill(pilot, form, name="web-apart-dns", resources="vm:100 vm:999")
        await act(pilot, "enter")
        assert error_of(form, "resources") == "no guest vm:999 (write vm:100, ct:200)"
        await fill(pilot, form, resources="vm:100 ct:200")
        await act(pilot, "enter")
        assert c.app.screen is form
        assert error_of(form, "resources") == (
            "contradicts rule web-with-dns: it keeps ct:200, vm:100 together")


async def test_the_crs_form_checks_its_fields_and_saves(console, audit):
    c = console(Role.ADMIN)
    async with c.app.run_test(size=(80, 24)) as pilot:
        screen = await open_rules(pilot, c)
        await act(pilot, "c")
        form = c.app.screen
        assert isinstance(form, CRSForm)
        await fill(pilot, form, threshold="\uff140", hold="2.5")  # a full-width 4
        await act(pilot, "enter")
        assert error_of(form, "threshold") == "a number such as 0.3, or a percent (30%)"
        assert error_of(form, "hold") == "a whole number is required (digits 0-9)"
        await fill(pilot, form, threshold="150", hold="2")
        await act(pilot, "enter")
        range_text = "above 0, at most 10 (0.3 by default)"  # the backend's
        assert error_of(form, "threshold") == range_text
        for number in ("1e308", "-5", "1e309", "0%"):  # numbers all, out of the range
            await fill(pilot, form, threshold=number)
            await act(pilot, "enter")
            assert error_of(form, "threshold") == range_text, number
        form.query_one("#hold", Input).value = "9" * 400  # float() reads it as inf
        await act(pilot, "enter")
        assert error_of(form, "hold") == "must be between 1 and 100"
        form.query_one("#hold", Input).value = "2"
        form.query_one("#mode").value = "static"  # type: ignore[attr-defined]
        form.query_one("#auto_rebalance").value = True  # type: ignore[attr-defined]
        await fill(pilot, form, threshold="25%")  # a percent reads as its fraction
        await act(pilot, "enter")
        await reloaded(pilot, screen, "CRS: static scheduler, auto-rebalance on (threshold "
                       "0.25, hold 2 rounds, margin 0.1)")
        assert c.backend.crs_settings().mode == "static"
        assert [r.result for r in audit.read()][-1] == "done"


async def ft_console(console) -> FrozenConsole:
    c = console(Role.ADMIN)
    c.backend.sim.ft_link_gbit = FT_LINK_GBIT  # the course's dedicated FT link
    c.backend.start("qemu/103")
    c.clock.advance(40)  # test1 booted
    return c


async def test_fault_tolerance_from_its_form_and_its_state_in_the_detail_pane(console,
                                                                             audit):
    c = await ft_console(console)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "test1")
        await act(pilot, "F")
        form = c.app.screen
        assert isinstance(form, FaultToleranceForm)
        text = shown_text(c.app)
        assert "FT link: 10 Gbit (enough" in text
        assert "FT VMs (max 4)" in text and "FT vCPUs (max 8)" in text
        assert "no: the primary's own node" in text and "can hold it" in text
        await act(pilot, "enter")  # Protect, the shadow on pve2
        await wait_until(pilot, lambda: c.app.screen is not form, 10, "the form to close")
        await poll(pilot, c, advance=1)
        rows = detail_rows(c.app)
        assert rows["FT"] == "primary on pve1, shadow on pve2"
        assert rows["FT price"].startswith("checkpoint every 25 ms (takeover 105 ms")
        await act(pilot, "F")
        form = c.app.screen
        assert isinstance(form, FaultToleranceForm)
        assert "Fault tolerance off: test1" in shown_text(c.app)
        assert "holds it now" in shown_text(c.app)
        assert c.app.focused is form.query_one("#cancel"), "Enter would turn FT off"
        await act(pilot, "tab", "enter")  # Turn off
        await wait_until(pilot, lambda: c.app.screen is not form, 10, "the form to close")
        await poll(pilot, c, advance=1)
        assert "FT" not in detail_rows(c.app)
        assert [(r.operation, r.parameters, r.result) for r in audit.read()] == [
            ("fault_tolerance", {"enabled": True, "secondary": "pve2"}, "done"),
            ("fault_tolerance", {"enabled": False, "secondary": None}, "done")]


async def test_fault_tolerance_refused_shows_why_and_offers_no_submit(console, audit):
    c = await ft_console(console)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "F")
        form = c.app.screen
        assert isinstance(form, FaultToleranceForm)
        assert "Cannot protect it: VM 100 (web1)" in shown_text(c.app)
        assert "is an HA resource: take it out of HA first" in shown_text(c.app)
        reasons = error_of(form, "refusal")
        assert "is an HA resource: take it out of HA first" in reasons
        assert not form.query_one("#submit", Button).display  # no Protect button
        assert "Shadow on" not in shown_text(c.app), "no node to choose: none could"
        await wait_until(pilot, lambda: "Cancel" in key_line(form), 5, "the key line")
        assert "Submit" not in key_line(form)
        await act(pilot, "enter")  # sends nothing, and the reasons stay as they were
        assert c.app.screen is form
        assert error_of(form, "refusal") == reasons
        await act(pilot, "escape")
        c.backend.sim.guests["qemu/103"].maxcpu = 9  # over 8 FT vCPUs per host
        await select(pilot, c, "test1")
        await act(pilot, "F")
        assert "would carry 9 FT vCPUs (at most 8 per host)" in shown_text(c.app)
        await act(pilot, "enter")
        assert "would carry 9 FT vCPUs" in error_of(c.app.screen, "secondary")
        (record,) = audit.read()
        assert record.result.startswith("error: fault tolerance refused")


async def test_fault_tolerance_refused_for_two_reasons_names_both(console, audit):
    """The last note's finding: web1 on the lab's 1 Gbit link cannot be protected for two
    reasons, the link and being an HA resource; the form named the link only."""
    c = console(Role.ADMIN)  # the lab as it comes: a 1 Gbit link
    async with c.app.run_test(size=(80, 24)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "F")
        form = c.app.screen
        assert isinstance(form, FaultToleranceForm)
        shown = " ".join(shown_text(c.app).split())
        assert "needs a dedicated low-latency 10 Gbit link" in shown
        assert "VM 100 (web1) is an HA resource: take it out of HA first" in shown
        reasons = error_of(form, "refusal")
        assert reasons.startswith("Cannot protect it, for 2 reasons:")
        await act(pilot, "enter")  # sends nothing; the two reasons stay, whole
        assert c.app.screen is form
        assert error_of(form, "refusal") == reasons
        assert list(audit.read()) == []



async def test_a_viewer_reads_the_rules_and_is_refused_a_change(console, audit):
    c = console(Role.VIEWER)
    async with c.app.run_test(size=(80, 24)) as pilot:
        screen = await open_rules(pilot, c)
        assert "prefer-pve2" in shown_text(c.app)
        await act(pilot, "n")
        await act(pilot, "c")
        assert c.app.screen is screen, "a viewer was given a form"
        await wait_until(pilot, lambda: len(list(audit.read())) == 2, 10, "the audit")
        assert [(r.operation, r.result[:8]) for r in audit.read()] == [
            ("ha_node_affinity_set", "refused:"), ("set_crs", "refused:")]
        assert any("admin" in n for n in notes(c.app))


async def test_hostile_names_in_rules_show_literally(console):
    hostile = "[bold]x\x1b]0;pwn\x07\u202e"
    c = console(Role.ADMIN)
    c.backend.sim.groups[hostile] = HAGroup(hostile, {"pve1": 1})  # a lesson file's name
    c.backend.sim.guests["qemu/101"].name = hostile
    async with c.app.run_test(size=(120, 30)) as pilot:
        await open_rules(pilot, c)
        text = shown_text(c.app)
        assert visible(hostile) in text and "\x1b" not in text and "\u202e" not in text
        await act(pilot, "n")
        assert f"vm:101 {visible(hostile)}" in shown_text(c.app)
        await settle(pilot)


async def test_a_rule_over_100_nodes_cut_to_the_screen_says_so(audit):
    """Testers' findings: at 100 nodes the line under the list stopped after five
    lines, mid-list, with nothing to say that the rule goes on; and the rule's row
    stopped at the screen's edge ("pve8:1 pv"), its Resources off screen."""
    c = FrozenConsole(SimCluster(nodes=100, guests=100),
                      actor=Actor("alice", Role.ADMIN, "local"), audit=audit)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await poll(pilot, c)
        await act(pilot, "R")
        screen = c.app.screen
        assert isinstance(screen, HARulesScreen)
        info = screen.query_one("#rules-info")
        await wait_until(pilot, lambda: "all-nodes: node affinity" in str(info.visual), 10,
                         "the rule described")
        lines = [line.rstrip(" │") for line in screen_lines(c.app)]
        [row] = [line for line in lines if line.startswith("│  all-nodes  node  pve1:1 ")]
        assert re.search(r"pve\d+:1 p?…  none$", row), row
        described = lines[lines.index(next(ln for ln in lines if "all-nodes: node" in ln)):]
        assert described[4].endswith("…") and "(priority 1)" in described[4]
        assert described[5].startswith("│ CRS:")
        await pilot.resize_terminal(120, 30)  # wider: more of it, still cut, still said
        await wait_until(pilot, lambda: str(info.visual).count("\n") == 4
                         and "pve20 " in str(info.visual), 10, "the rule wrapped anew")
        assert str(info.visual).endswith("…")
        [row] = [line for line in screen_lines(c.app) if "│  all-nodes  node  " in line]
        assert "pve10:1 " in row and re.search(r"…  none +│", row), row


async def test_a_new_rules_name_is_checked_in_the_form_before_the_cluster_is_asked(
        console, audit):
    """A tester's finding: a bad name was said only once the backend refused it, and a
    new rule named as an existing one replaced that rule. Rule names are one namespace:
    a resource rule may not take a node rule's name either."""
    c = console(Role.ADMIN)
    async with c.app.run_test(size=(80, 24)) as pilot:
        screen = await open_rules(pilot, c)
        form = await new_rule_form(pilot, "n", NodeAffinityForm)
        for name, reason in (
                ("", "a name is required"),
                ("1st-rule", "2-40 letters, digits, '-' or '_', starting with a letter"),
                ("prefer-pve2", "a rule named 'prefer-pve2' exists already")):
            await fill(pilot, form, name=name, nodes="pve1", resources="vm:100")
            await act(pilot, "enter")
            assert c.app.screen is form
            assert error_of(form, "name") == reason, name
            assert form.focused is form.query_one("#name", Input)
        await act(pilot, "escape")
        form = await new_rule_form(pilot, "r", ResourceAffinityForm)
        await fill(pilot, form, name="prefer-pve2", resources="vm:100 ct:200")
        await act(pilot, "enter")
        assert error_of(form, "name") == "a rule named 'prefer-pve2' exists already"
        await act(pilot, "escape")
        assert c.app.screen is screen
        assert "pve2:2 pve1:1 pve3:1" in shown_text(c.app)  # prefer-pve2 as it was
    assert not list(audit.read()), "the cluster was asked"
