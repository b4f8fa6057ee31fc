"""`M` on a host of a cluster with DRS fully automated (vcsim started with that level):
the plan migrates nothing and says that DRS moves the running VMs, and vSphere's
maintenance mode is asked for at once. vcsim's DRS moves nothing: what is proven is the
console's part, the plan and the call."""

from __future__ import annotations

from tests.ui_ops.helpers import live_console, tree_label, wait_until
from tests.vcenter.test_maintenance import busiest, the_plan
from vmconsole.backends.base import TaskStatus

VCSIM_ARGS = ("-vm", "3", "-drs", "fullyAutomated")


async def test_with_drs_fully_automated_the_plan_leaves_the_moves_to_drs(connect) -> None:
    backend = connect()
    inventory = backend.inventory()
    host = busiest(inventory)
    on_host = sorted(inventory.guests_on(host), key=lambda g: g.name)
    assert backend.host_evacuation(host) == "DRS (fully automated)"
    async with live_console(backend) as pilot:
        text = await the_plan(pilot, host)
        assert f"Empty {host}: DRS (fully automated) moves {len(on_host)} guest" in text
        for guest in on_host:
            assert (f"skipped {guest.name} ({guest.id} on {host}): DRS (fully automated) "
                    "moves it") in text
        assert "DRS (fully automated) moves its running VMs: the console migrates none" in text
        await pilot.press("y")
        await wait_until(pilot, lambda: "maintenance" in tree_label(pilot.app, host), 30,
                         "vCenter's maintenance mode in the tree")
        [enter] = [t for t in backend.tasks() if t.operation == "maintenance_enter"]
        assert backend.wait(enter.id, 30).status is TaskStatus.OK
        assert not any(t.operation == "migrate" for t in backend.tasks())
