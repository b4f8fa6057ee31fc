"""A session's call carries the parameters of every form that can reach the hub."""

from __future__ import annotations

from vmconsole.backends.abilities import FaultKind
from vmconsole.backends.base import MigrationMode
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.ha_config import HASettings
from vmconsole.model import HARequest, RestartPriority
from vmconsole.serve.wire import dumps, load_call


def test_the_ha_forms_settings_cross_the_call_socket() -> None:
    # The HA form (a Proxmox request) and the vSphere HA form (a restart priority).
    for settings in (HASettings(request=HARequest.STOPPED, nodes=("pve1",)),
                     HASettings(restart_priority=RestartPriority.HIGH)):
        call = (7, "demo", "ha_set", ("qemu/100", settings), {})
        assert load_call(dumps(call)) == call


def test_a_fault_a_migration_and_a_clone_cross_the_call_socket() -> None:
    # A second tester's finding: every fault an admin injected over SSH ended the
    # session ("FaultKind is not allowed in a call") once FaultKind left backends/base.py.
    for call in ((1, "demo", "inject_fault", ("pve2", FaultKind.POWER_OFF), {}),
                 (2, "demo", "migrate", ("qemu/100", "pve2", MigrationMode.LIVE, False), {}),
                 (3, "demo", "clone", ("qemu/100", CloneSpec(name="web9", node="pve1")), {})):
        assert load_call(dumps(call)) == call
