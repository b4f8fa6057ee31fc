"""Every guest action has its flow, registered by name in ui/flows.FLOWS (not found by
getattr): a key or palette entry without one would fail only when a user pressed it."""

from __future__ import annotations

from vmconsole.ui.actions import ACTIONS
from vmconsole.ui.flows import FLOWS


def test_every_action_has_a_flow_and_every_flow_an_action() -> None:
    assert set(FLOWS) == {action.name for action in ACTIONS}
