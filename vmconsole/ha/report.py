"""`vmconsole ha status`: the manager's view as lines for people, from its status file
(never worked out again here: what the manager decided is what is shown)."""

from __future__ import annotations

import time

from vmconsole.ha.status import ManagerStatus
from vmconsole.text import visible
from vmconsole.wallclock import clock_time

#: The newest decisions `ha status` prints.
SHOWN_DECISIONS = 10


def status_lines(status: ManagerStatus | None, where: str, now: float | None = None
                 ) -> list[str]:
    """The lines of `ha status` for one cluster; `where` names the status file."""
    if status is None:
        return [f"no HA manager status in {where}: is `vmconsole ha run` running?"]
    now = time.time() if now is None else now
    age = now - status.updated
    head = (f"cluster {visible(status.cluster)}: manager pid {status.pid}, last round "
            f"{clock_time(status.updated)} ({age:.0f} s ago)")
    if status.stale(now):
        head += " -- STALE: the manager has stopped or hangs; nothing below is current"
    lines = [head, ("quorate: " if status.quorate else "NO QUORUM: ") + visible(
        status.quorum_text, limit=None) + ("" if status.quorate else "; recovering nothing")]
    lines.append("nodes:")
    for node in status.nodes:
        seen = "" if node.online else (", never seen online" if node.last_seen is None
                                       else f", last seen {clock_time(node.last_seen)}")
        fence = ""
        if node.fence_error:
            fence = f", fence failed {node.fence_tries}x: {visible(node.fence_error, limit=300)}"
        lines.append(f"  {visible(node.name):<12} {node.state:<8} "
                     f"{'answers' if node.online else 'does not answer'}{seen}{fence}")
    lines.append("services:" if status.services else "services: none marked HA")
    for svc in status.services:
        why = f"  ({visible(svc.why, limit=300)})" if svc.why else ""
        lines.append(f"  {visible(svc.name):<16} {svc.state:<10} on {visible(svc.node):<12} "
                     f"request {svc.request}{why}")
    if status.decisions:
        lines.append("decisions (newest last):")
        lines += [f"  {clock_time(d.time)} {visible(d.message, limit=400)}"
                  for d in status.decisions[-SHOWN_DECISIONS:]]
    return lines
