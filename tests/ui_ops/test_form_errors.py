"""A reason shown under a form's field goes once the field is fixed, before the next
submit; a field still wrong keeps its reason (the last tester's finding: old error
lines stayed under fixed fields until the next submit)."""

from __future__ import annotations

from tests.ui_ops.helpers import act, notes
from tests.ui_ops.test_ha_rules import error_of, fill, new_rule_form, open_crs_form, open_rules
from vmconsole.actor import Role
from vmconsole.ui.modals.ha_rule_forms import NodeAffinityForm


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


async def test_a_refusal_is_said_in_the_form_not_in_a_toast_over_its_fields(console, audit):
    """A tester's finding: the backend's refusal of a submitted form came as a toast too,
    which hung over the form's first fields (the name the refusal may be about)."""
    c = console(Role.ADMIN)
    async with c.app.run_test(size=(80, 24)) as pilot:
        await open_rules(pilot, c)
        form = await new_rule_form(pilot, "n", NodeAffinityForm)
        await fill(pilot, form, name="web-off", nodes="pve9", resources="vm:100")
        await act(pilot, "enter")
        assert c.app.screen is form
        assert error_of(form, "nodes") == "no node pve9 (nodes: pve1, pve2, pve3)"
        assert "node-affinity rule refused" in str(form.query_one("#form-error").visual)
        assert notes(c.app) == []  # no toast
        assert list(audit.read())[-1].result.startswith("error")
