"""Each operation's form and panel at 80x24, on the simulator with its clock frozen and
its seed fixed (regenerate with --snapshot-update after a deliberate change)."""

from __future__ import annotations

import pytest

from tests.ui_ops.helpers import poll, select, settle
from vmconsole.config import SimCluster
from vmconsole.session import Role, Session
from vmconsole.ui.frozen import FrozenConsole

# (guest to select, keys that open the screen)
SCREENS = {
    "confirm_stop": ("web1", ["X"]),
    "shutdown": ("web1", ["d"]),
    "create_from_template": ("debian12-ct-template", ["n"]),
    "clone": ("test1", ["c"]),
    "convert_to_template": ("test1", ["T"]),
    "migrate_vm": ("build1", ["m"]),
    "migrate_container": ("dns1", ["m"]),
    "ha": ("db1", ["H"]),
    "snapshot_panel": ("web1", ["S"]),
    "snapshot_create": ("web1", ["S", "n"]),
}


@pytest.mark.parametrize("screen", list(SCREENS))
def test_operation_screens(snap_compare, audit, screen):
    c = FrozenConsole(SimCluster(), session=Session("alice", Role.OPERATOR), audit=audit)
    guest, keys = SCREENS[screen]

    async def run_before(pilot) -> None:
        await poll(pilot, c)
        await select(pilot, c, guest)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    assert snap_compare(c.app, terminal_size=(80, 24), run_before=run_before)
