"""The HA manager for a libvirt cluster: pve-ha-manager's CRM rules over libvirt hosts.

Each round (every `round` seconds, and at once when libvirt reports a host lost or a
domain event) the manager reads the cluster (`LibvirtBackend.inventory()`), then:

1. Nodes (NodeStatus.pm): a node whose libvirtd does not answer (connection closed or
   keepalive lost), or whose address does not answer the `ha` table's probe, is
   `unknown` at once; one seen again is `online`, except a node being fenced: nothing
   backs out of a fence.
2. Quorum (votequorum): each node one vote, a quorum device one more; without a strict
   majority the manager only reports, and says so. It does not count itself: a manager
   cut off from the nodes sees none of them and so does nothing.
3. Fencing: the fence delay after the last round that saw a node online, its services
   that should run go to `fence`, and so does the node; its fence agent is called every
   round until it confirms. Only then do the services go to `recovery`.
4. Recovery (Manager.pm's next_state_recovery): once the lock lease since the node's
   loss has passed, each service goes to the node `rules.select_service_node` picks
   (node affinity, then the `crs` mode: HA services and memory, or TOPSIS over CPU and
   memory), is defined there from the manager's copy of its XML, and started
   (`recovery.py`).
5. Requests (the LRM's work, `lrm.py`): a service `started` on an online node is
   started if it is not running; one `stopped` or `disabled` is shut down. A node that
   comes back after a fence has its stale definition removed: no second copy remains.

Every decision goes to the audit log and the status file, with its reason.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import libvirt

from vmconsole.backends.base import BackendError
from vmconsole.backends.libvirt import LibvirtBackend
from vmconsole.config import HAManagerConfig
from vmconsole.ha import quorum as votequorum
from vmconsole.ha import rules
from vmconsole.ha.fencing import Fence
from vmconsole.ha.journal import Journal
from vmconsole.ha.lrm import LocalResources
from vmconsole.ha.probe import from_config, probe_nodes, unaddressed
from vmconsole.ha.recovery import Recovery
from vmconsole.ha.services import (
    FENCEABLE,
    ConfigStore,
    NodeTrack,
    Service,
    at_rest,
    copies,
    where_it_runs,
)
from vmconsole.ha.status import ManagerStatus, NodeRecord, ServiceRecord, read_status, write_status
from vmconsole.model import (
    Guest,
    GuestKind,
    HAConfig,
    HARequest,
    HAState,
    Inventory,
    NodeHAState,
    NodeStatus,
)
from vmconsole.wallclock import clock_time

#: Least time between two rounds woken by libvirt events (a burst is one round).
MIN_GAP_S = 0.2
QUORUM_DEVICE_TIMEOUT_S = 5.0
class Manager:
    """One cluster's manager. `round()` does one round and returns the status it wrote;
    `run(stop)` loops until `stop` is set."""

    def __init__(self, backend: LibvirtBackend, cfg: HAManagerConfig, fence: Fence,
                 journal: Journal, status_path: Path,
                 clock: Callable[[], float] = time.time) -> None:
        self.backend, self.cfg, self.fence, self.journal = backend, cfg, fence, journal
        self.status_path, self.clock = status_path, clock
        self.configs = ConfigStore(status_path.with_name(status_path.stem + ".configs"))
        self.nodes: dict[str, NodeTrack] = {}
        self.services: dict[str, Service] = {}
        self.quorate: bool | None = None
        self.lrm = LocalResources(backend, journal, clock)
        self.probe = from_config(cfg)
        self._unprobed: set[str] = set()  # nodes said to have no address to probe
        self._wake = threading.Event()
        self.recovery = Recovery(backend, cfg, self.configs, journal, self.nodes, self.services)
        backend.set_change_callback(self._changed)
        self._resume()

    def _resume(self) -> None:
        """Take up the services and fences of the manager's last run: a node being
        fenced is fenced still; a service whose node died while no manager ran is
        known from the status file and its XML copy."""
        before = read_status(self.status_path)
        if before is None:
            return
        now = self.clock()
        for rec in before.nodes:
            fencing = rec.state == NodeHAState.FENCE
            # the delays count from this start: the node may have answered since
            self.nodes[rec.name] = NodeTrack(
                rec.name, now, rec.last_seen,
                NodeHAState.FENCE if fencing else NodeHAState.UNKNOWN)
        for svc in before.services:
            if self.configs.get(svc.id.removeprefix("vm/")) is None:
                continue
            request = HARequest(svc.request)
            known = svc.state in {s.value for s in HAState}
            state = HAState(svc.state) if known else at_rest(request)
            self.services[svc.id.removeprefix("vm/")] = Service(
                svc.id.removeprefix("vm/"), svc.name, GuestKind.VM, svc.node,
                HAConfig(request), 0, state)

    # --- the loop ---------------------------------------------------------------------

    def _changed(self) -> None:
        """libvirt said a host or domain changed: a round now, if there is an HA service
        to act for (without one, the next round is soon enough to report)."""
        if self.services:
            self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Rounds until `stop` is set; a round that fails (the status file cannot be
        written) is said and the next one tried."""
        while not stop.is_set():
            begun = time.monotonic()
            try:
                self.round()
            except (OSError, BackendError) as exc:
                self.journal.say(f"round failed: {exc}")
            except Exception:  # a daemon that dies silently fences nothing: say it, go on
                self.journal.say("round failed:\n" + traceback.format_exc())
            self._wake.wait(self.cfg.round)
            self._wake.clear()
            stop.wait(max(0.0, MIN_GAP_S - (time.monotonic() - begun)))

    def round(self) -> ManagerStatus:
        """One round: read the nodes, judge quorum, fence and recover, keep the
        services' requests; returns the status written. Its time is taken once the
        nodes have been read, not before: a reading a busy libvirtd made slow (seconds
        on a loaded lab) must not age what it saw, or a node lost just after would be
        fenced that much before its fence delay."""
        inv = self.backend.inventory()
        now = self.clock()
        if any(n.status is NodeStatus.CONNECTING for n in inv.nodes):
            # the first answers are still coming: judging quorum now would be wrong
            status = self._status(now, False, 0, len(inv.nodes), "connecting to the nodes")
            write_status(self.status_path, status)
            return status
        self._update_nodes(inv, now)
        votes, expected, text = self._quorum()
        quorate = votequorum.quorate(votes, expected)
        try:  # what was decided is written even if a later step fails
            self._learn(inv)
            if quorate != self.quorate:
                self._quorum_changed(quorate, text)
            if quorate:
                self._fence_and_recover(inv, now)
                self.lrm.keep_requests(inv, self.services, self.nodes)
                self.lrm.remove_stale_copies(inv, self.services, self.nodes)
        finally:
            status = self._status(now, quorate, votes, expected, text)
            write_status(self.status_path, status)
        return status

    # --- nodes and quorum -------------------------------------------------------------

    def _update_nodes(self, inv: Inventory, now: float) -> None:
        silent = self._probe(inv)
        for node in inv.nodes:
            track = self.nodes.setdefault(node.name, NodeTrack(node.name, now))
            online = node.online and node.name not in silent
            track.online, track.address = online, node.address or ""
            if online:
                track.unseen_from = track.last_seen = now
                if track.state is NodeHAState.UNKNOWN:
                    track.state = NodeHAState.ONLINE
                    self.journal.decide("node_online", f"{node.name} is online", node.name)
                elif track.state is NodeHAState.FENCE and track.fence_tries == 0:
                    self.journal.decide("fence_pending", f"{node.name} answers again, but "
                                        "its fence goes on: nothing backs out of a fence",
                                        node.name)
            elif track.state is NodeHAState.ONLINE:
                track.state = NodeHAState.UNKNOWN
                self._say_lost(track, silent.get(node.name))

    def _probe(self, inv: Inventory) -> dict[str, str]:
        """The nodes whose libvirtd answers but whose address does not (the `ha`
        table's probe), with why: lost too, as corosync loses a node whose token stops
        whatever else of it still runs."""
        if self.probe is None:
            return {}
        uris = {n.name: n.address or "" for n in inv.nodes if n.online}
        for name in unaddressed(self.probe, uris):
            if name not in self._unprobed:
                self._unprobed.add(name)
                self.journal.say(f"{name}: no address to probe (its URI names no host; "
                                 "set probe_addresses): judged by its libvirtd only")
        return {name: why for name, why in probe_nodes(self.probe, uris).items()
                if why is not None}

    def _say_lost(self, track: NodeTrack, why: str | None = None) -> None:
        """Decide a node lost; `why` when it is not its libvirtd (the probe's answer)."""
        held = [s for s in self.services.values()
                if s.node == track.name and s.state in FENCEABLE]
        seen = f"last seen {clock_time(track.unseen_from)}" + (f"; {why}" if why else "")
        if held:
            at = track.unseen_from + self.cfg.fence_delay
            self.journal.decide("node_lost", f"node {track.name} lost ({seen}): unknown; "
                                f"{', '.join(sorted(s.name for s in held))} fenced after the "
                                f"{self.cfg.fence_delay:g} s fence delay, at {clock_time(at)}",
                                track.name)
        else:
            self.journal.decide("node_lost", f"node {track.name} lost ({seen}): it runs "
                                "no HA service, nothing to fence or recover", track.name)

    def _quorum(self) -> tuple[int, int, str]:
        online = sorted(n.name for n in self.nodes.values() if n.online)
        votes, expected = len(online), len(self.nodes)
        device = ""
        if self.cfg.quorum_device:
            expected += 1
            argv = [w.replace("{nodes}", ",".join(online)) for w in self.cfg.quorum_device]
            try:
                granted = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL,
                                         timeout=QUORUM_DEVICE_TIMEOUT_S).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                granted = False
            votes += granted
            device = "; the quorum device " + ("votes for it" if granted else "refuses")
        need = expected // 2 + 1
        return votes, expected, (f"{votes} of {expected} votes, {need} needed "
                                 f"(nodes online: {', '.join(online) or 'none'}{device})")

    def _quorum_changed(self, quorate: bool, text: str) -> None:
        if quorate:
            self.journal.decide("quorum", f"quorate: {text}; the manager acts")
        else:
            waiting = [s.name for s in self.services.values()
                       if s.state in (*FENCEABLE, HAState.FENCE, HAState.RECOVERY)
                       and not self.nodes.get(s.node, NodeTrack(s.node, 0)).online]
            lost = (f"; {', '.join(sorted(waiting))} not recovered" if waiting else "")
            self.journal.decide("no_quorum", f"no quorum: {text}: the manager fences and "
                                f"recovers nothing, it only reports{lost}")
        self.quorate = quorate

    # --- services ---------------------------------------------------------------------

    def _learn(self, inv: Inventory) -> None:
        """Services from the inventory: new HA marks, changed requests, where each runs,
        and a fresh copy of each definition from a node that answers."""
        found = copies(inv.guests)
        for uuid, rows in found.items():
            running = where_it_runs(rows)
            svc = self.services.get(uuid)
            here = running or next((g for g in rows if svc and g.node == svc.node), rows[0])
            ha = here.ha
            assert ha is not None
            if svc is None:
                svc = self.services[uuid] = Service(uuid, here.name, here.kind, here.node, ha,
                                                    here.maxmem, at_rest(ha.request))
                self.journal.decide("service_added", f"{here.name} is an HA service "
                                    f"(request {ha.request.value}) on {here.node}",
                                    here.node, svc.id)
            if ha.request is not svc.ha.request and svc.state not in (
                    HAState.FENCE, HAState.RECOVERY):
                svc.state, svc.failures = at_rest(ha.request), 0
            svc.ha, svc.name, svc.kind, svc.maxmem = ha, here.name, here.kind, here.maxmem
            svc.maxcpu = here.maxcpu
            if running is not None and svc.state not in (HAState.FENCE, HAState.RECOVERY):
                svc.node = running.node
            node = self.nodes.get(here.node)
            if node is not None and node.online:
                self._copy_definition(uuid, here)
        for uuid, svc in list(self.services.items()):
            if uuid not in found and self.nodes.get(svc.node, NodeTrack("", 0)).online:
                del self.services[uuid]
                self.configs.drop(uuid)
                self.journal.decide("service_removed", f"{svc.name} is no longer an HA "
                                    "service (its mark or its domain is gone)", svc.node, svc.id)

    def _copy_definition(self, uuid: str, guest: Guest) -> None:
        host = self.backend.host_named(guest.node, containers=guest.kind is GuestKind.CT)
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
        try:
            xml = host.call(lambda c: c.lookupByUUIDString(uuid).XMLDesc(flags),
                            f"reading {guest.name}'s definition")
        except BackendError:
            return  # read again next round
        self.configs.put(uuid, xml)

    # --- fencing and recovery ---------------------------------------------------------

    def _fence_and_recover(self, inv: Inventory, now: float) -> None:
        for svc in self.services.values():
            node = self.nodes.get(svc.node)
            if (node is not None and svc.state in FENCEABLE and not node.online
                    and rules.offline_delayed(node.unseen_from, now, self.cfg.fence_delay)):
                svc.state, svc.why = HAState.FENCE, f"{node.name} is being fenced"
                if node.state is not NodeHAState.FENCE:
                    node.state, node.fence_tries, node.fence_error = NodeHAState.FENCE, 0, None
                    held = [s.name for s in self.services.values()
                            if s.node == node.name and s.state in (*FENCEABLE, HAState.FENCE)]
                    self.journal.decide("fence", f"fencing {node.name}: unseen since "
                                        f"{clock_time(node.unseen_from)}, past the "
                                        f"{self.cfg.fence_delay:g} s fence delay; "
                                        f"in 'fence': {', '.join(sorted(held))}, started "
                                        "nowhere until the fence is confirmed", node.name)
        for node in self.nodes.values():
            if node.state is NodeHAState.FENCE:
                self._fence(node)
        for svc in self.services.values():
            if svc.state is HAState.RECOVERY:
                self.recovery.recover(svc, inv, now)

    def _fence(self, node: NodeTrack) -> None:
        node.fence_tries += 1
        task = self.journal.task("hafence", f"node/{node.name}", node.name,
                                 f"fencing {node.name} by {self.fence.method} "
                                 f"(try {node.fence_tries})")
        result = self.fence.fence(node.name, node.address)
        self.journal.finish(task, result.ok, result.message)
        fenced = [s for s in self.services.values()
                  if s.node == node.name and s.state is HAState.FENCE]
        if not result.ok:
            node.fence_error = result.message
            self.journal.decide("fence_failed", f"fence of {node.name} by "
                                f"{self.fence.method} failed (try {node.fence_tries}): "
                                f"{result.message}; nothing of it is recovered until a fence "
                                f"succeeds; trying again in {self.cfg.round:g} s",
                                node.name, result="error: fence failed")
            return
        node.state, node.fence_error = NodeHAState.UNKNOWN, None
        names = ", ".join(sorted(s.name for s in fenced)) or "no HA service"
        self.journal.decide("fenced", f"{node.name} fenced by {self.fence.method} "
                            f"({result.message}); recovering {names}", node.name,
                            result="ok")
        for svc in fenced:
            svc.state, svc.why = HAState.RECOVERY, f"{node.name} was fenced"
            svc.fenced_from.add(node.name)

    # --- the status file ----------------------------------------------------------------

    def _status(self, now: float, quorate: bool, votes: int, expected: int,
                text: str) -> ManagerStatus:
        nodes = tuple(NodeRecord(n.name, n.state.value, n.online, n.last_seen, n.fence_tries,
                                 n.fence_error) for n in self.nodes.values())
        services = tuple(ServiceRecord(s.id, s.name, s.node, s.ha.request.value,
                                       s.state.value, s.why)
                         for s in sorted(self.services.values(), key=lambda s: s.name))
        return ManagerStatus(self.backend.cfg.name, os.getpid(), now, self.cfg.round,
                             self.cfg.fence_timeout, quorate, votes, expected, text, nodes,
                             services, tuple(self.journal.decisions), tuple(self.journal.tasks))
