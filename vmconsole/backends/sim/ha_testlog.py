"""A pve-ha-manager test directory's `log.expect`: the log the real manager writes for
the scenario (formats: src/PVE/HA/Sim/Hardware.pm and the CRM's and LRM's log lines),
read down to the key events of a failover, to compare a played scenario with."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KeyEvent:
    """One event of a failover as the manager logs it, in the scenario's seconds."""

    time: float
    kind: str  # node_state, fenced, recovered, started
    subject: str  # a node or a service id
    value: str = ""  # the new node state, or the node a service went to


_NODE_STATE = re.compile(r"(\S+)/crm: node '([^']+)': state changed from '[^']+' => '([^']+)'")
_FENCED = re.compile(r"(\S+)/crm: fencing: acknowledged - got agent lock for node '([^']+)'")
_RECOVER = re.compile(r"/crm: recover service '([^']+)'(?: from fenced node '[^']+')? "
                      r"(?:to node '([^']+)'|to previous failed and fenced node '([^']+)')")
_STARTED = re.compile(r"(\S+)/lrm: service status (\S+) started")
_STOPPED = re.compile(r"(\S+)/lrm: service status (\S+) stopped")
# a service added already running: the LRM never reports it started
_ALREADY_RUNNING = re.compile(r"(\S+)/lrm: ignoring rebalance-on-start for service (\S+) "
                              r"- already running")
_LINE = re.compile(r"^\w+\s+(\d+)\s+(.*)$")


def parse_log(text: str) -> tuple[list[KeyEvent], dict[str, str]]:
    """The key events of a log.expect, and where each service runs at its end."""
    events: list[KeyEvent] = []
    running: dict[str, str] = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        t, rest = float(m.group(1)), m.group(2)
        if n := _NODE_STATE.search(rest):
            events.append(KeyEvent(t, "node_state", n.group(2), n.group(3)))
        elif n := _FENCED.search(rest):
            events.append(KeyEvent(t, "fenced", n.group(2)))
        elif n := _RECOVER.search(rest):
            events.append(KeyEvent(t, "recovered", n.group(1), n.group(2) or n.group(3)))
        elif n := _STARTED.search(rest):
            events.append(KeyEvent(t, "started", n.group(2), n.group(1)))
            running[n.group(2)] = n.group(1)
        elif n := _STOPPED.search(rest):
            running.pop(n.group(2), None)
        elif n := _ALREADY_RUNNING.search(rest):
            running[n.group(2)] = n.group(1)
        if "killed by poweroff" in rest or "stopped by poweroff" in rest:
            node = rest.split("'")[1] if "server '" in rest else rest.split("/")[0]
            running = {sid: where for sid, where in running.items() if where != node}
    return events, running
