"""A session's call carries the parameters of every form that can reach the hub."""

from __future__ import annotations

from vmconsole.backends.base import HASettings
from vmconsole.model import HARequest, RestartPriority
from vmconsole.serve.wire import dumps, load_call


def test_the_ha_forms_settings_cross_the_call_socket() -> None:
    # The HA form (a Proxmox request) and the vSphere HA form (a restart priority).
    for settings in (HASettings(request=HARequest.STOPPED, nodes=("pve1",)),
                     HASettings(restart_priority=RestartPriority.HIGH)):
        call = (7, "demo", "ha_set", ("qemu/100", settings), {})
        assert load_call(dumps(call)) == call
