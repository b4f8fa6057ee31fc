"""Whole numbers typed in forms: read exactly as typed, refused with the allowed range,
never clamped, rounded or left to raise (the tester's hold of 23 nines, once audited as
2**63, is refused in the form with the hold's range)."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tests.ui_ops.helpers import act, on_guest
from tests.ui_ops.test_ha_rules import error_of, open_crs_form
from tests.ui_ops.test_hardware import errors
from vmconsole.actor import Role
from vmconsole.ui.modals import validate
from vmconsole.ui.modals.hardware import HardwareForm

TWENTY_THREE_NINES = "9" * 23


@pytest.mark.parametrize(("text", "low", "high", "expected"), [
    (" 42 ", 1, 100, 42),
    ("-3", None, None, -3),
    ("0007", 1, 10, 7),
    (TWENTY_THREE_NINES, 1, 100, "must be between 1 and 100"),
    ("9" * 5000, 1, 100, "must be between 1 and 100"),  # int() refuses 4,300 digits
    ("-" + "9" * 5000, 0, None, "must be 0 or more"),
    ("9" * 5000, None, None, "at most 4000 digits"),
    (TWENTY_THREE_NINES, None, None, int(TWENTY_THREE_NINES)),
    ("\uff14", 1, 10, "a whole number is required (digits 0-9)"),  # int() reads it as 4
    ("1_0", 1, 100, "a whole number is required (digits 0-9)"),  # int() reads 10
    ("+5", 1, 10, "a whole number is required (digits 0-9)"),
    ("2.5", 1, 10, "a whole number is required (digits 0-9)"),
    ("", 1, 10, "a whole number is required (digits 0-9)"),
])
def test_a_whole_number_is_read_exactly_or_refused_with_its_range(text, low, high,
                                                                  expected):
    assert validate.whole(text, low, high) == expected


def test_a_huge_timeout_names_the_range_not_a_bad_number():
    assert validate.whole_number("9" * 5000, 1, 3600) == "must be between 1 and 3600"


async def test_a_hold_out_of_range_is_refused_in_the_form_with_its_range(console, audit):
    c = console(Role.ADMIN)
    async with c.app.run_test(size=(80, 24)) as pilot:
        form = await open_crs_form(pilot, c)
        hold = form.query_one("#hold", Input)
        hold.focus()
        for typed in (TWENTY_THREE_NINES, "0", "101", "-3"):
            hold.value = typed
            await act(pilot, "enter")
            assert c.app.screen is form
            assert error_of(form, "hold") == "must be between 1 and 100", typed
        assert list(audit.read()) == []  # refused before the backend was asked
        assert c.backend.crs_settings().hold == 3


async def test_five_thousand_digits_of_vcpus_are_refused_in_the_form(console, audit):
    c = console()
    async with c.app.run_test(size=(100, 40)) as pilot:
        await on_guest(pilot, c, "web1")
        await act(pilot, "E")
        form = c.app.screen
        assert isinstance(form, HardwareForm)
        form.query_one("#vcpus", Input).value = "9" * 5000  # int() raised on it
        await act(pilot, "enter")
        assert c.app.screen is form
        assert errors(form) == {"vcpus": "at most 4000 digits"}
        assert list(audit.read()) == []
