"""The HA manager: membership changes, the CRM master, fencing and recovery.

When a node leaves the quorate membership (it died, or it is cut off):
- at once the CRM marks it `unknown`;
- on the lost node, if it is alive but without quorum and its LRM is active (it has HA
  services), the LRM can no longer renew its agent lock and stops feeding the watchdog:
  watchdog-mux resets the node 60 s after the last feed (self-fencing);
- after the 60 s fence delay the CRM puts the node's services into `fence`;
- once the node's agent lock lease (120 s from its last renewal) has expired, the CRM
  takes the lock: the node is fenced for sure (it reset, or it is off); its services
  go to `recovery`, get a new node, are `started` there by that node's LRM, and boot.
If the CRM master itself is lost, the quorate side waits for the master lock's 120 s
lease to expire before a new master takes over and does the above.
A node without quorum never has its lock renewed, so the quorate side never starts a
service before the lost node has reset: no guest runs twice.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from functools import partial

from vmconsole.backends.sim.engine import Sim, Timer
from vmconsole.backends.sim.ha_services import ACTIVE_STATES, Services
from vmconsole.backends.sim.membership import memberships, quorum_by_node
from vmconsole.backends.sim.power import off_after
from vmconsole.backends.sim.state import Instance, SimNode
from vmconsole.backends.sim.timing import (
    FENCE_DELAY,
    HA_STOP_TIMEOUT,
    LOCK_LEASE,
    NODE_BOOT,
    OS_SHUTDOWN,
    ROUND,
    WATCHDOG_TIMEOUT,
    last_round,
    next_round,
)
from vmconsole.model import HARequest, HAState, NodeHAState


def clock_time(t: float) -> str:
    return _time.strftime("%H:%M:%S", _time.gmtime(t))


def services_text(count: int) -> str:
    return f"{count} HA service{'' if count == 1 else 's'}"


class HAManager:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.services = Services(sim, self)
        quorum = quorum_by_node(sim)
        self.quorate = {name: quorum.get(name) is not None and quorum[name].quorate
                        for name in sim.nodes}
        self.master: str | None = next((n for n, q in self.quorate.items() if q), None)
        self.master_lock_free_at = 0.0
        self._groups = self._group_signatures()
        self._timers: dict[tuple[str, str], Timer] = {}  # (what, node) -> pending timer
        for node in sim.nodes.values():
            node.lrm.mode = "active" if self.quorate[node.name] else "wait_for_agent_lock"

    # --- timers -----------------------------------------------------------------------

    def _schedule(self, what: str, node: str, at: float, fn: Callable[[], None]) -> None:
        self._cancel(what, node)
        self._timers[(what, node)] = self.sim.at(at, fn)

    def _cancel(self, what: str, node: str) -> None:
        timer = self._timers.pop((what, node), None)
        if timer is not None:
            timer.cancel()

    def on_next_crm_round(self, fn: Callable[[], None]) -> None:
        """Run a CRM decision on the master's next round (nothing while there is none:
        the new master reapplies every request when it takes over)."""
        if self.master is not None:
            self.sim.at(next_round(self.sim.nodes[self.master], self.sim.now), fn)

    # --- membership -------------------------------------------------------------------

    def _group_signatures(self) -> set[tuple[tuple[str, ...], int, int, bool]]:
        quorum = quorum_by_node(self.sim)
        out = set()
        for group in memberships(self.sim):
            q = quorum[group[0].name]
            out.add((tuple(n.name for n in group), q.votes, q.expected, q.quorate))
        return out

    def membership_changed(self) -> None:
        """React to nodes dying, booting, losing or regaining their links."""
        sim = self.sim
        groups = self._group_signatures()
        for names, votes, expected, quorate in sorted(groups - self._groups):
            who = f"{', '.join(names)} {'has' if len(names) == 1 else 'have'}"
            qdevice = " (with the QDevice's)" if votes > len(names) else ""
            if quorate:
                sim.narrate("quorum", f"quorum: {who} {votes} of {expected} votes{qdevice}, "
                            "quorate", names[0])
            else:
                sim.narrate("quorum_lost", f"quorum: {who} {votes} of {expected} votes, not "
                            f"quorate (a majority is {expected // 2 + 1}): the cluster file "
                            "system is read-only there", names[0])
        self._groups = groups
        quorum = quorum_by_node(sim)
        now_quorate = {name: quorum.get(name) is not None and quorum[name].quorate
                       for name in sim.nodes}
        for name, node in sim.nodes.items():
            was, now = self.quorate[name], now_quorate[name]
            self.quorate[name] = now
            if was and not now:
                self._lost(node)
            elif now and not was:
                self._joined(node)
        self._check_master()

    def _lost(self, node: SimNode) -> None:
        sim, t = self.sim, self.sim.now
        node.lrm.lock_renewed = node.lrm.watchdog_fed = last_round(node, t)
        services = self.services.on_node(node.name)
        if node.alive:
            # The watchdog is armed only while the LRM holds its lock with services to
            # run: an idle LRM never resets its node.
            if node.lrm.mode == "active" and services:
                node.lrm.mode = "lost_agent_lock"
                reset_at = node.lrm.watchdog_fed + WATCHDOG_TIMEOUT
                sim.narrate("watchdog_armed", f"{node.name} has no quorum: its LRM cannot "
                            "renew its agent lock and stops feeding the watchdog, which "
                            f"resets the node at {clock_time(reset_at)} (60 s after the last "
                            "feed)", node.name)
                self._schedule("reset", node.name, reset_at, lambda: self._watchdog(node))
            else:
                why = ("its LRM is in maintenance" if node.lrm.mode == "maintenance" else
                       "it runs no HA services")
                sim.narrate("no_watchdog", f"{node.name} has no quorum, but {why}: the "
                            "watchdog is not armed, so it keeps running; its guests cannot be "
                            "managed", node.name)
        if node.maintenance:
            return
        node.ha_state = NodeHAState.UNKNOWN
        node.unknown_since = t
        sim.touch_node(node)
        if services:
            sim.narrate("node_lost", f"{node.name} lost: waiting for the "
                        f"{FENCE_DELAY:.0f} s fence delay before fencing its "
                        f"{services_text(len(services))}", node.name)
            self._schedule("fence", node.name, t + FENCE_DELAY, lambda: self._fence(node))
        elif frozen := self.services.on_node(node.name, (HAState.FREEZE,)):
            sim.narrate("node_lost", f"{node.name} left the cluster: its "
                        f"{services_text(len(frozen))} are frozen and wait for it", node.name)
        else:
            sim.narrate("node_lost", f"{node.name} lost: it has no HA services, there is "
                        "nothing to fence or recover", node.name)

    def _joined(self, node: SimNode) -> None:
        sim = self.sim
        for what in ("fence", "lock", "reset"):
            if what == "reset" and ("reset", node.name) in self._timers:
                sim.narrate("watchdog_disarmed", f"{node.name} regained quorum before its "
                            "watchdog expired: its LRM feeds it again, no reset", node.name)
            self._cancel(what, node.name)
        services = self.services.on_node(node.name, (*ACTIVE_STATES, HAState.FREEZE))
        node.lrm.mode = "maintenance" if node.maintenance else "active"
        node.unknown_since = None
        if not node.maintenance:
            node.ha_state = NodeHAState.ONLINE
        sim.touch_node(node)
        sim.narrate("node_online", f"{node.name} is back in the quorate membership", node.name)
        for guest in services:
            assert guest.ha is not None
            if guest.ha.state in (HAState.FENCE, HAState.FREEZE):  # back: run them here
                guest.ha.state = HAState.STARTED
            self.services.apply(guest)
        self.on_next_crm_round(lambda: self._failback(node))

    # --- the CRM master -------------------------------------------------------------

    def _check_master(self) -> None:
        sim = self.sim
        if self.master is not None and not self.quorate[self.master]:
            old = sim.nodes[self.master]
            self.master_lock_free_at = last_round(old, sim.now) + LOCK_LEASE
            sim.narrate("crm_master_lost", f"the CRM master {old.name} is lost: a new master "
                        f"can take its lock when the lease expires at "
                        f"{clock_time(self.master_lock_free_at)}", old.name)
            self.master = None
        if self.master is None and any(self.quorate.values()) and (
                ("takeover", "") not in self._timers):
            self._schedule("takeover", "", self.master_lock_free_at, self._takeover)

    def _takeover(self) -> None:
        sim = self.sim
        self._timers.pop(("takeover", ""), None)
        candidates = [n for n in sim.nodes.values() if self.quorate[n.name]]
        if not candidates or self.master is not None:
            return
        self.master = candidates[0].name
        sim.narrate("crm_master", f"{self.master} is the new CRM master (it took the "
                    "manager lock)", self.master)
        for node in sim.nodes.values():
            if not self.quorate[node.name] and node.ha_state is NodeHAState.UNKNOWN and (
                    self.services.on_node(node.name)):
                since = node.unknown_since if node.unknown_since is not None else sim.now
                self._schedule("fence", node.name, since + FENCE_DELAY,
                               partial(self._fence, node))
        for guest in sim.guests.values():
            if guest.ha is not None and self.quorate.get(guest.node, False):
                self.services.apply(guest)

    # --- fencing and recovery -------------------------------------------------------

    def _fence(self, node: SimNode) -> None:
        sim = self.sim
        self._timers.pop(("fence", node.name), None)
        if self.master is None or self.quorate[node.name]:
            return
        services = self.services.on_node(node.name)
        node.ha_state = NodeHAState.FENCE
        for guest in services:
            assert guest.ha is not None
            guest.ha.state = HAState.FENCE
            sim.touch(guest.id)
        sim.touch_node(node)
        free_at = max(sim.now, node.lrm.lock_renewed + LOCK_LEASE)
        sim.narrate("fence", f"fencing {node.name}: {services_text(len(services))} in 'fence'; "
                    f"the CRM waits for its agent lock, free at {clock_time(free_at)} (120 s "
                    "after its last renewal), when its watchdog has surely reset it",
                    node.name)
        self._schedule("lock", node.name, free_at, lambda: self._fenced(node))

    def _fenced(self, node: SimNode) -> None:
        sim = self.sim
        self._timers.pop(("lock", node.name), None)
        if self.master is None or self.quorate[node.name]:
            return
        node.ha_state = NodeHAState.UNKNOWN
        sim.touch_node(node)
        services = self.services.on_node(node.name, (HAState.FENCE,))
        sim.narrate("fenced", f"{self.master} got {node.name}'s agent lock: {node.name} is "
                    f"fenced; recovering its {services_text(len(services))}", node.name)
        for guest in services:
            self._recover(guest.id)

    def _recover(self, guest_id: str) -> None:
        sim = self.sim
        guest = sim.guests.get(guest_id)
        if guest is None or guest.ha is None or self.master is None:
            return
        source = guest.node
        guest.ha.state = HAState.RECOVERY
        sim.touch(guest.id)
        target = self.services.select_node(guest, exclude=(source,))
        if target is None:
            sim.narrate("recovery", f"{guest.vmid} in recovery: no node can take it now "
                        f"(group, memory, storage); retrying every {ROUND:.0f} s",
                        source, guest.id)
            sim.after(ROUND, lambda: self._recover(guest_id))
            return
        guest.node = target
        guest.ha.state = HAState.STARTED
        sim.touch(guest.id)
        sim.narrate("recovered", f"{guest.vmid} ({guest.name}) recovered from {source} to "
                    f"{target}: the LRM of {target} starts it on its next round",
                    target, guest.id)
        if guest.ha.request is HARequest.STARTED:
            self.services.lrm_later(guest, self.services.lrm_start)
        else:
            self.services.apply(guest)

    def _failback(self, node: SimNode) -> None:
        """Services whose group prefers the returning node go back to it, unless the
        group says nofailback."""
        for guest in list(self.sim.guests.values()):
            ha = guest.ha
            if ha is None or ha.state is not HAState.STARTED or guest.node == node.name:
                continue
            priorities, _, nofailback = self.services.preferences(guest)
            if nofailback or self.sim.running_on_own_node(guest) is None:
                continue
            if priorities.get(node.name, -1) > priorities.get(guest.node, -1) and (
                    self.services.usable(node, guest)):
                self.services.move(guest, node.name, f"failback: its group prefers "
                                   f"{node.name}")

    # --- nodes going down and coming up ---------------------------------------------

    def _watchdog(self, node: SimNode) -> None:
        self._timers.pop(("reset", node.name), None)
        if not node.alive or self.quorate[node.name]:
            return
        self.sim.narrate("watchdog_reset", f"{node.name}: watchdog expired "
                         f"{WATCHDOG_TIMEOUT:.0f} s after the LRM's last feed: the node "
                         "resets (self-fencing); its guests are gone", node.name)
        self.node_down(node)
        node.powered = True  # a reset, not a power-off: it boots again
        self._schedule("boot", node.name, self.sim.now + NODE_BOOT, lambda: self.node_up(node))

    def node_down(self, node: SimNode) -> None:
        for guest_id in list(node.instances):
            self.sim.end_instance(guest_id, node.name)
        node.up = False
        node.lrm.mode = "wait_for_agent_lock"
        self.sim.touch_node(node)
        self.membership_changed()

    def node_up(self, node: SimNode) -> None:
        self._timers.pop(("boot", node.name), None)
        if not node.powered:
            return
        node.up = True
        node.up_since = self.sim.now
        self.sim.narrate("node_booted", f"{node.name} booted", node.name)
        self.membership_changed()

    def reboot(self, node: SimNode) -> None:
        """An admin's reboot under Proxmox's default shutdown policy (conditional): the
        node's HA services freeze (stopped, kept on it, started again when it is back)
        and every guest shuts down before the node goes down."""
        sim, now = self.sim, self.sim.now
        frozen = self.services.on_node(node.name, (HAState.STARTED,))
        for guest in frozen:
            assert guest.ha is not None
            guest.ha.state = HAState.FREEZE
            sim.touch(guest.id)
        last_off = now
        for guest_id, inst in list(node.instances.items()):
            if inst.incoming:
                continue
            # pve-guests shuts every guest down, and stops it after the timeout.
            off = now + min(off_after(sim.guests[guest_id], inst, now), HA_STOP_TIMEOUT)
            last_off = max(last_off, off)
            sim.at(off, partial(self._guest_off, guest_id, node, inst))
        sim.narrate("node_reboot", f"{node.name} reboots: its {services_text(len(frozen))} "
                    f"freeze (stopped, kept on {node.name}, started again when it is back); "
                    f"its guests shut down first ({last_off - now:.0f} s)", node.name)
        self._schedule("down", node.name, last_off + OS_SHUTDOWN, lambda: self._rebooting(node))

    def _guest_off(self, guest_id: str, node: SimNode, inst: Instance) -> None:
        if node.instances.get(guest_id) is inst:
            self.sim.end_instance(guest_id, node.name)

    def _rebooting(self, node: SimNode) -> None:
        self._timers.pop(("down", node.name), None)
        if not node.alive:
            return
        self.node_down(node)
        self._schedule("boot", node.name, self.sim.now + NODE_BOOT, lambda: self.node_up(node))

    def power_on(self, node: SimNode) -> None:
        node.powered = True
        self.sim.narrate("node_booting", f"{node.name} powered on: it boots and rejoins in "
                         f"about {NODE_BOOT:.0f} s", node.name)
        self._schedule("boot", node.name, self.sim.now + NODE_BOOT, lambda: self.node_up(node))
