"""HA states as the manager says them: the tree shows the manager's own word after the
mark of its phase, the detail pane says what it means; a state the console does not
know is shown as it came (made visible), never replaced by another."""

from __future__ import annotations

import pytest
from rich.text import Text

from vmconsole.model import (
    HA_SERVICE_STATES,
    Guest,
    GuestKind,
    GuestStatus,
    HAConfig,
    HAPhase,
    HAState,
    Node,
    NodeHAState,
    NodeStatus,
)
from vmconsole.ui.labels import guest_label, node_label
from vmconsole.ui.styles import LabelStyles
from vmconsole.ui.symbols import ASCII, UNICODE
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef

from .test_console import facts

STYLES = LabelStyles.from_variables({"error": "#ff0000", "warning": "#ffff00",
                                     "accent": "#00ffff"})


def db(state: str) -> Guest:
    return Guest("qemu/101", "db", GuestKind.VM, "pve2", GuestStatus.STOPPED, vmid=101,
                 ha=HAConfig(state=state))


@pytest.mark.parametrize("state", [s.value for s in HAState])
def test_each_known_state_shows_its_own_word_and_the_mark_of_its_phase(state):
    label = guest_label(db(state), UNICODE, STYLES)
    phase = HA_SERVICE_STATES[HAState(state)].phase
    assert label.plain.endswith(f" {UNICODE.ha_phase(phase)}{state}")


def test_request_start_is_not_shown_as_started():
    assert guest_label(db("request_start"), UNICODE, STYLES).plain.endswith(
        " …request_start")
    assert guest_label(db("request_start"), ASCII, STYLES).plain.endswith(" ~request_start")


def test_trouble_is_in_the_error_colour():
    label = guest_label(db("fence"), UNICODE, STYLES)
    span = next(s for s in label.spans if label.plain[s.start:s.end] == "!fence")
    assert str(span.style) == str(STYLES.bad)


def test_an_unknown_state_is_shown_as_it_came_and_made_visible():
    label = guest_label(db("being_rebalanced\x1b[2J"), ASCII, STYLES)
    assert label.plain.endswith(" ?being_rebalanced\\x1b[2J")


def test_node_states_in_the_label():
    node = Node("pve3", NodeStatus.ONLINE, 4, 2**33, ha_state=NodeHAState.MAINTENANCE)
    assert node_label(node, UNICODE, STYLES).plain == "● pve3 ha:❄maintenance"
    gone = Node("pve4", NodeStatus.OFFLINE, 4, 2**33, ha_state="split")
    assert isinstance(node_label(gone, ASCII, STYLES), Text)
    assert node_label(gone, ASCII, STYLES).plain == "o pve4 offline ha:?split"


def test_every_known_state_has_a_phase_and_a_meaning():
    assert set(HA_SERVICE_STATES) == set(HAState)
    assert all(info.meaning and isinstance(info.phase, HAPhase)
               for info in HA_SERVICE_STATES.values())


async def test_the_tree_and_the_detail_pane_say_the_managers_state(console_factory):
    c = console_factory()
    async with c.app.run_test(size=(120, 40)) as pilot:
        ha = c.backend.sim.guests["qemu/101"].ha  # db1 on pve2
        assert ha is not None
        ha.state = HAState.REQUEST_START
        c.backend.sim.touch("qemu/101")
        c.poll()
        await pilot.pause()
        tree = c.app.query_one(ClusterTree)
        tree.select_ref(TreeRef("lab", "qemu/101"))
        await pilot.pause()
        label = str(tree.cursor_node.label)
        assert label.endswith(" …request_start") and "started" not in label
        text = " ".join(facts(c.app).split())  # as one line, whatever the wrapping
        assert ("HA …request_start: to be started: the CRM chooses its node "
                "(rebalance on start) before its LRM starts it") in text
        assert "HA request started, group prefer-pve2" in text
        ha.state = "mystery"  # type: ignore[assignment]
        c.backend.sim.touch("qemu/101")
        c.poll()
        await pilot.pause()
        assert str(tree.cursor_node.label).endswith(" ?mystery")
        assert ("?mystery: a state this console does not know, shown as the HA manager "
                "reports it") in " ".join(facts(c.app).split())
