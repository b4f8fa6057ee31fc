"""The hardware form on a Proxmox cluster (fakepve): what the form says PVE will do
with a running VM's change, and PVE's refusal shown in its own words next to its
field."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tests.ui_ops.helpers import live_console, screen_text, wait_until
from vmconsole.ui.modals.hardware import HardwareForm
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef


@pytest.fixture(autouse=True)
def _own_state_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # the audit log goes there


async def open_form(pilot) -> HardwareForm:
    tree = pilot.app.query_one(ClusterTree)
    await wait_until(pilot, lambda: tree.select_ref(TreeRef("lab", "qemu/100")), 10, "web")
    tree.focus()
    await pilot.press("E")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, HardwareForm), 10, "the form")
    return pilot.app.screen


async def test_the_form_says_pve_keeps_a_running_vms_cores_pending(fakepve, connect):
    async with live_console(connect()) as pilot:
        form = await open_form(pilot)
        assert "the running guest takes it at its next start: vCPUs need 'cpu' in the " \
               "VM's hotplug option" in screen_text(pilot.app)
        form.query_one("#vcpus", Input).value = "3"
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(pilot.app.screen, HardwareForm), 10,
                         "the change applied")
        await wait_until(pilot, lambda: any(t.operation == "vcpus"
                                            for t in pilot.app.latest["lab"].tasks),
                         10, "the task in a poll")
        task = next(t for t in pilot.app.latest["lab"].tasks if t.operation == "vcpus")
        assert "pending until its next start" in task.log[0]


async def test_pves_refusal_is_shown_next_to_its_field(fakepve, connect):
    async with live_console(connect()) as pilot:
        form = await open_form(pilot)
        fakepve.call("snapshot_lock", 100, "[b]backup")
        form.query_one("#vcpus", Input).value = "3"
        await pilot.press("enter")
        await wait_until(pilot, lambda: form.query(".field-error.shown"), 10, "the refusal")
        shown = str(form.query_one("#error-vcpus").render())
        assert "VM is locked ([b]backup)" in shown
        assert isinstance(pilot.app.screen, HardwareForm)


async def test_config_text_is_shown_as_data(fakepve, connect):
    config = fakepve.guest(100)["config"]
    fakepve.set(100, config={**config, "hotplug": "disk,\x1b]0;owned\x07",
                             "net0": "virtio=BC:24:11:00:01:00,bridge=[b]vmbr0\u202e"})
    async with live_console(connect()) as pilot:
        form = await open_form(pilot)
        nic = str(form.query_one("#note-link-0").render())
        assert nic == ("virtio, bridge [b]vmbr0\\u202e, BC:24:11:00:01:00; the running guest "
                       "takes it at its next start")
        assert "(hotplug: disk,\\x1b]0;owned\\x07)" in str(form.query_one("#note-vcpus").render())
