"""pve-ha-manager's test harness command language (Sim/Hardware.pm's sim_hardware_cmd) as
scenario steps, and the harness's service ids as the simulator's guest ids: what a
lesson file's steps and a test directory's cmdlist say.

`power NODE on|off`, `network NODE on|off`, `reboot NODE`, `shutdown NODE`,
`crm NODE enable-node-maintenance|disable-node-maintenance|disarm-ha MODE|arm-ha|stop|
start`, `cfs NODE rw|update fail|work`, `restart-lrm NODE`, `skip-round crm|lrm [N]`,
`service SID started|stopped|disabled|ignored|migrate NODE|relocate NODE|
manual-migrate NODE|delete|lock|unlock|add NODE [state] [running]|stop TIMEOUT|
set-static-stats ...|set-dynamic-stats ...`.
"""

from __future__ import annotations

from typing import Any

from vmconsole.backends.abilities import FaultKind
from vmconsole.backends.base import InvalidInput, MigrationMode
from vmconsole.backends.event_kinds import EventKind
from vmconsole.backends.ha_config import HASettings
from vmconsole.backends.sim import (
    faults,
    ha_admin,
    ha_disarm,
    ha_lrm,
    ha_master,
    ha_testcrs,
    migration,
)
from vmconsole.backends.sim.engine import Sim
from vmconsole.backends.sim.ha import HAManager
from vmconsole.backends.sim.ha_testdir import NODE_NAME, guest_id
from vmconsole.backends.sim.scenarios import Step
from vmconsole.backends.sim.state import SimGuest
from vmconsole.model import GuestKind, HARequest, HAState
from vmconsole.text import visible

REQUESTS = {"started": HARequest.STARTED, "stopped": HARequest.STOPPED,
            "disabled": HARequest.DISABLED, "ignored": HARequest.IGNORED}


def node_name(word: str) -> str:
    """A node name as Proxmox allows it (a hostname label); raises InvalidInput."""
    if not NODE_NAME.match(word):
        raise InvalidInput(f"'{visible(word)}' is not a node name", {"node": visible(word)})
    return word


def _node_step(fn: Any, node: str) -> Step:
    node_name(node)

    def step(sim: Sim, ha: HAManager) -> None:
        fn(sim, ha, sim.node(node))
    return step


def _power_on(sim: Sim, ha: HAManager, node: Any) -> None:
    faults.restore(sim, ha, node)


def _fault(kind: FaultKind) -> Any:
    return lambda sim, ha, node: faults.inject(sim, ha, node, kind)


def _maintenance(enabled: bool) -> Any:
    return lambda sim, ha, node: ha_admin.set_maintenance(sim, ha, node, enabled)


def _admin_migrate(sim: Sim, guest: SimGuest, node: str) -> None:
    """`qm migrate` / `pct migrate` outside HA: live for a running VM, restart for a
    running container, offline for a stopped guest."""
    mode = (MigrationMode.OFFLINE if sim.running_on_own_node(guest) is None
            else MigrationMode.LIVE if guest.kind is GuestKind.VM else MigrationMode.RESTART)
    migration.migrate(sim, guest, node, mode, with_local_disks=False)


def _manual_migrate(sim: Sim, ha: HAManager, guest: SimGuest, node: str) -> None:
    """The harness's `service SID manual-migrate NODE`: an admin migrates an HA service
    by hand, which Proxmox allows only while HA leaves it alone (the service `ignored`,
    or the stack disarmed in `ignore` mode); the CRM picks up its new node later."""
    if guest.ha is not None and guest.ha.state is not HAState.IGNORED and (
            ha.disarm != "ignore"):
        sim.narrate(EventKind.HA_MOVE_REFUSED,
                    f"{guest.vmid}: a manual migration needs the service "
                    "ignored or HA disarmed in ignore mode: HA manages it", guest.node,
                    guest.id)
        return
    _admin_migrate(sim, guest, node)


def _service_step(sid: str, action: str, params: list[str]) -> Step:
    gid = guest_id(sid)

    def step(sim: Sim, ha: HAManager) -> None:
        guest = sim.guest(gid)
        if action in REQUESTS:
            current = guest.ha
            settings = HASettings(request=REQUESTS[action],
                                  group=current.group if current else None,
                                  max_restart=current.max_restart if current else 1,
                                  max_relocate=current.max_relocate if current else 1)
            ha_admin.ha_set(sim, ha, guest, settings)
        elif action in ("migrate", "relocate"):
            if guest.ha is None:
                _admin_migrate(sim, guest, params[0])
            else:
                ha_admin.ha_move(sim, ha, guest, params[0], relocate=action == "relocate")
        elif action == "manual-migrate":
            _manual_migrate(sim, ha, guest, params[0])
        elif action == "delete":
            ha_admin.ha_remove(sim, ha, guest)
        elif action == "lock":
            ha_admin.set_lock(sim, guest, params[0] if params else "backup")
        elif action == "unlock":
            ha_admin.set_lock(sim, guest, None)
        elif action == "add":
            request = params[1] if len(params) > 1 else "started"
            if len(params) > 2 and params[2] == "1" and sim.instance(guest.id) is None:
                sim.start_instance(guest.id, guest.node, booted=True)  # it runs already
            ha_admin.ha_set(sim, ha, guest, HASettings(request=REQUESTS[request]))
        elif action == "stop" and guest.ha is not None:
            guest.ha.stop_timeout = float(params[0])
            ha_admin.ha_power(sim, ha, guest, HARequest.STOPPED, "stop")
    return step


def command_step(command: str) -> Step:
    """One command of the harness's language as a scenario step. Raises InvalidInput
    naming what the simulator cannot play (yet)."""
    words = command.split()
    if len(words) >= 3 and words[0] in ("power", "network") and words[2] in ("on", "off"):
        what, node, on = words[0], words[1], words[2] == "on"
        if what == "power":
            return _node_step(_power_on if on else _fault(FaultKind.POWER_OFF), node)
        return _node_step(_power_on if on else _fault(FaultKind.CUT_NETWORK), node)
    if len(words) == 2 and words[0] in ("reboot", "shutdown"):
        reboot = words[0] == "reboot"
        return _node_step(lambda sim, ha, node: ha_admin.shutdown_node(sim, ha, node, reboot),
                          words[1])
    if len(words) == 3 and words[0] == "crm" and words[2] in (
            "enable-node-maintenance", "disable-node-maintenance"):
        return _node_step(_maintenance(words[2].startswith("enable")), words[1])
    if len(words) in (3, 4) and words[0] == "crm" and words[2] in ("disarm-ha", "arm-ha"):
        mode = words[3] if len(words) == 4 else ""
        return lambda sim, ha: (ha_disarm.request_disarm(ha, mode) if mode
                                else ha_disarm.request_arm(ha))
    if len(words) == 3 and words[0] == "crm" and words[2] in ("stop", "start"):
        stop = words[2] == "stop"
        return _node_step(lambda sim, ha, node: ha_master.stop_crm(ha, node) if stop
                          else ha_master.start_crm(ha, node), words[1])
    if len(words) == 4 and words[0] == "cfs" and words[2] in ("rw", "update") and (
            words[3] in ("fail", "work")):
        failed = words[3] == "fail"
        return _node_step(lambda sim, ha, node: ha.set_cfs(node, failed), words[1])
    if len(words) == 2 and words[0] == "restart-lrm":
        return _node_step(lambda sim, ha, node: ha_lrm.restart_lrm(ha, node), words[1])
    if words[:1] == ["skip-round"] and (len(words) == 2 or (
            len(words) == 3 and words[2].isdigit())):
        what, rounds = words[1], int(words[2]) if len(words) == 3 else 1
        return lambda sim, ha: ha_admin.skip_rounds(sim, ha, what, rounds)
    if len(words) >= 3 and words[0] == "service":
        sid, action, params = words[1], words[2], words[3:]
        guest_id(sid)
        if action in ("migrate", "relocate", "manual-migrate", "add") and params:
            node_name(params[0])
        if action in ("set-static-stats", "set-dynamic-stats"):
            return ha_testcrs.stats_step(guest_id(sid), action, params)
        if action in REQUESTS or action in ("delete", "lock", "unlock") or (
                action in ("migrate", "relocate", "manual-migrate", "add") and params) or (
                action == "stop" and params and params[0].isdigit()):
            return _service_step(sid, action, params)
    raise InvalidInput(f"the simulator cannot play '{visible(command)}' yet",
                       {"command": visible(command)})
