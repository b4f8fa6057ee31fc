"""The HA manager on the real lab: three nodes, two HA guests on the san, the manager
that `lab up` starts (round 1 s, fence delay 6 s: the course's 10 s and 60 s, shortened
so CI stays fast). A node powered off, a node cut from the network with its guest still
running, a cluster without quorum, and a fence that fails.

While a scenario runs, a watcher asks every libvirtd (a cut node's through its moved
socket) and every node's cgroups where each HA guest runs, as often as it can (every
0.1 s at most): at no moment may it run on two nodes. The console's ping monitor probes
the guest every 10 ms."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.lab.built import BuiltLab, LabShape
from tests.lab.requires import skip_unless_a_lab_can_be_built

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]


skip_unless_a_lab_can_be_built()

import libvirt  # noqa: E402

from vmconsole.backends import open_backend  # noqa: E402
from vmconsole.backends.libvirt.connection import BACKOFF_S  # noqa: E402
from vmconsole.config import LibvirtCluster, load_config  # noqa: E402
from vmconsole.ha.recovery import RECOVERY_START_S  # noqa: E402
from vmconsole.ha.report import status_lines  # noqa: E402
from vmconsole.ha.status import ManagerStatus, read_status  # noqa: E402
from vmconsole.lab import builder, cgroups, daemon, faults, hamanager  # noqa: E402
from vmconsole.lab.faults import LabFault  # noqa: E402
from vmconsole.lab.layout import LAN_NS, SAN_POOL, NodeLayout  # noqa: E402
from vmconsole.lab.probe import answers  # noqa: E402
from vmconsole.model import HAState, Inventory, NodeHAState  # noqa: E402
from vmconsole.monitor.ping import PingMonitor, ProbeTarget  # noqa: E402

ROUND_S, FENCE_DELAY_S = 1.0, 6.0
TOLERANCE_S = 5.0
IPS = {"vm1": "10.77.0.11", "vm2": "10.77.0.12"}


def until(what, check, timeout, lab=None, watcher=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s" + (_state(lab) if lab else "")
                         + (f"\n{watcher}" if watcher else ""))


def _state(lab) -> str:
    """The manager's view and the end of its log (the lab's manager's, and the one a
    test ran in its place), for a failure's message."""
    text = "\n" + "\n".join(status_lines(read_status(hamanager.status_file(lab["layout"])),
                                         "status"))
    for log in (hamanager.ha_dir(lab["layout"]) / "manager.log",
                lab["root"] / "fence-manager.log"):
        if log.exists():
            tail = log.read_text(errors="replace").splitlines()[-40:]
            text += f"\n{log.name}:\n" + "\n".join(tail)
    return text


LAB = LabShape(nodes=3, guests=3, ha_guests=2, audit=True,
               ha_times={"round": ROUND_S, "fence_delay": FENCE_DELAY_S})


@pytest.fixture(scope="module")
def lab(built_lab: BuiltLab):
    return {"layout": built_lab.layout, "config": built_lab.config,
            "audit": built_lab.audit, "root": built_lab.root}


def status(lab) -> ManagerStatus:
    found = read_status(hamanager.status_file(lab["layout"]))
    assert found is not None
    return found


def _uri(node: NodeLayout) -> str | None:
    """The node's libvirtd socket, or its moved-aside one while its network is cut."""
    for sock in (node.socket, node.socket.with_name(node.socket.name + ".cut")):
        if sock.exists():
            return f"qemu:///system?socket={sock}"
    return None


_CONNS: dict[str, libvirt.virConnect] = {}  # uri -> an open connection, kept between polls


def _active_names(uri: str) -> set[str]:
    """The names of the domains running under one libvirtd (its connection kept open;
    one that fails is dropped and opened again next time)."""
    for _attempt in (1, 2):
        conn = _CONNS.get(uri)
        try:
            if conn is None:
                conn = _CONNS[uri] = libvirt.open(uri)
            return {d.name() for d in
                    conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)}
        except libvirt.libvirtError:
            _CONNS.pop(uri, None)
            if conn is not None:
                with contextlib.suppress(libvirt.libvirtError):
                    conn.close()
    return set()


def placements(lab, names=("vm1", "vm2")) -> dict[str, set[str]]:
    """The nodes where each guest runs, by every libvirtd that answers and by every
    node's QEMU processes (a killed libvirtd leaves none: a power-off)."""
    found: dict[str, set[str]] = {name: set() for name in names}
    for node in lab["layout"].nodes:
        uri = _uri(node) if daemon.pid_of(node) else None
        active = _active_names(uri) if uri is not None else set()
        for name in names:
            if name in active or _qemu_alive(node.name, name):
                found[name].add(node.name)
    return found


def running_on(lab, name: str) -> set[str]:
    return placements(lab, (name,))[name]


def _qemu_alive(node: str, name: str) -> bool:
    for pid in cgroups.pids_in(node):
        try:
            if f"guest={name},".encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


def all_back(lab) -> None:
    """Every node powered and online for the manager (a node fenced while it came back
    from a scenario is restored again)."""
    def check() -> bool:
        for node in lab["layout"].nodes:
            if faults.current(node) is not None:
                builder.restore(node.name, lambda _line: None)
        st = status(lab)
        if st.quorate and all(n.state == "online" for n in st.nodes):
            return True
        time.sleep(0.9)
        return False
    until("every node online for the manager", check, 120, lab)


class Watcher:
    """Where each HA guest runs, every 0.1 s, on its own thread."""

    def __init__(self, lab, names=("vm1", "vm2")) -> None:
        self.lab, self.names = lab, names
        self.seen: list[tuple[float, dict[str, set[str]]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.seen.append((time.time(), placements(self.lab, self.names)))
            time.sleep(0.1)

    def __str__(self) -> str:
        """What it saw last, and when, for a failure's message."""
        if not self.seen:
            return "the watcher saw nothing"
        at, where = self.seen[-1]
        return (f"the watcher: {len(self.seen)} looks, the last {time.time() - at:.1f} s ago: "
                f"{where}")

    def first(self, name: str, check) -> float | None:
        return next((t for t, where in self.seen if check(where[name])), None)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        doubles = [(t, where) for t, where in self.seen if any(len(w) > 1 for w in
                                                                 where.values())]
        assert not doubles, f"a guest ran on two nodes at once: {doubles[:3]}"
        assert len(self.seen) >= 5


def connected(console, cluster: LibvirtCluster) -> Inventory:
    """The console's first inventory in which every node answered. Its first polls show
    a node still connecting, with none of its guests (a poll waits CONNECT_GRACE_S for
    it, then shows the others); an attempt ends at the cluster's timeout, and the next
    comes after the first back-off."""
    return until("the console reads every node", lambda: next(
        (i for i in [console.inventory()] if all(n.online for n in i.nodes)), None),
        2 * cluster.timeout + BACKOFF_S[0] + TOLERANCE_S)


def decided(lab, kind: str, after: float, node: str | None = None, text: str = ""):
    return next((d for d in status(lab).decisions if d.kind == kind and d.time >= after
                 and (node is None or d.node == node) and text in d.message), None)


def where(lab, name: str) -> str:
    (node,) = until(f"{name} runs on one node", lambda: running_on(lab, name), 120)
    return node


def test_lab_up_starts_a_manager_that_sees_the_ha_guests(lab):
    st = until("the manager sees three nodes and two services", lambda: (
        s if (s := status(lab)).quorate and len(s.services) == 2 else None), 60)
    assert [n.state for n in st.nodes] == ["online"] * 3
    assert {(s.name, s.state, s.request) for s in st.services} == {
        ("vm1", "started", "started"), ("vm2", "started", "started")}
    assert {s.node for s in st.services if s.name == "vm1"} == {"pve1"}
    out = subprocess.run([sys.executable, "-m", "vmconsole", "ha", "--config",
                          str(lab["config"]), "status", "--profile", "lab"],
                         capture_output=True, text=True, check=True).stdout
    assert "quorate: 3 of 3 votes, 2 needed" in out and "vm1" in out
    # the console shows the manager's view: its states and its quorum
    (cluster,) = load_config(lab["config"]).clusters("lab")
    backend = open_backend(cluster)
    try:
        inv = connected(backend, cluster)
        assert inv.quorum is not None  # read from the manager's status file
        assert (inv.quorum.votes, inv.quorum.expected, inv.quorum.quorate) == (3, 3, True)
        vm1 = next(g for g in inv.guests if g.name == "vm1")
        assert vm1.ha is not None and vm1.ha.state is HAState.STARTED
        assert all(n.ha_state is NodeHAState.ONLINE for n in inv.nodes)
        assert "san" in vm1.storages
    finally:
        backend.close()


def test_a_powered_off_node_is_fenced_and_its_guest_recovered_in_time(lab):
    assert until("vm1 answers", lambda: answers(IPS["vm1"]), 120)
    source = where(lab, "vm1")
    monitor = PingMonitor()
    session = monitor.start(ProbeTarget.icmp(IPS["vm1"], netns=LAN_NS), interval=0.01,
                            duration=FENCE_DELAY_S + 150)
    watcher = Watcher(lab)
    (cluster,) = load_config(lab["config"]).clusters("lab")
    console = open_backend(cluster)  # what a console shows: it saw vm1 on its node
    try:
        until("the ping monitor hears vm1", lambda: session.snapshot().received > 20, 30)
        seen = connected(console, cluster)
        assert [g.node for g in seen.guests if g.name == "vm1"] == [source]
        failed = time.time()
        builder.fail(source, LabFault.POWER, lambda _line: None)
        t_run = until("vm1 runs on another node", lambda: watcher.first(
            "vm1", lambda w: bool(w) and source not in w), 90, lab, watcher)
        # the timeline: lost at once, fenced after the fence delay, then recovered
        expected = FENCE_DELAY_S + ROUND_S
        assert abs((t_run - failed) - expected) <= TOLERANCE_S, (t_run - failed, expected)
        # the status file is written at the end of the round that started it
        recovered = until("the recovery in the status", lambda: decided(
            lab, "recovered", failed, text="vm1 "), 30)
        lost = decided(lab, "node_lost", failed, source)
        fence = decided(lab, "fence", failed, source)
        fenced = decided(lab, "fenced", failed, source)
        assert lost and fence and fenced and recovered, status(lab).decisions
        assert lost.time - failed < 2 * ROUND_S + 1
        assert fence.time - lost.time >= FENCE_DELAY_S - ROUND_S - 0.5
        assert fenced.time <= recovered.time and "lab power-off" in fenced.message
        assert "candidates:" in recovered.message and "chosen" in recovered.message
        assert until("vm1 answers again", lambda: answers(IPS["vm1"]), 120)
        until("the monitor hears it again", lambda: session.snapshot().ongoing is None, 30)
        # listed once, where it runs; not the dead node's copy next to it as a duplicate
        shown = until("the console lists vm1 once", lambda: next(
            (found for found in [[g for g in console.inventory().guests if g.name == "vm1"]]
             if len(found) == 1 and found[0].running), None), 30)
        assert shown[0].node != source and shown[0].duplicate is None
        assert console.inventory().node(source).status == "offline"
    finally:
        console.close()
        session.stop()
        monitor.stop_all()
        watcher.stop()
    snap = session.snapshot()
    longest = max(snap.outages, key=lambda o: o.downtime)
    print(f"vm1: lost {failed:.1f}, runs again on another node after {t_run - failed:.1f} s, "
          f"ping outage {longest.downtime:.1f} s ({longest.lost} probes)")
    assert FENCE_DELAY_S <= longest.downtime < FENCE_DELAY_S + 120
    records = [json.loads(line) for line in lab["audit"].read_text().splitlines()]
    ops = {r["operation"] for r in records if r["user"] == "ha-manager"}
    assert {"ha_node_lost", "ha_fence", "ha_fenced", "ha_recovered"} <= ops
    assert all(r["parameters"]["reason"] for r in records if r["user"] == "ha-manager")

    # the node comes back: its stale definition goes, no second copy starts
    target = where(lab, "vm1")
    builder.restore(source, lambda _line: None)
    until(f"{source}'s stale vm1 removed", lambda: decided(lab, "stale_removed", failed,
                                                            source), 60)
    assert running_on(lab, "vm1") == {target}
    conn = libvirt.open(lab["layout"].nodes[int(source[3:]) - 1].uri)
    try:
        assert "vm1" not in [d.name() for d in conn.listAllDomains(0)]
    finally:
        conn.close()


def test_a_node_cut_from_the_network_is_fenced_before_its_guest_starts_elsewhere(lab):
    all_back(lab)
    source = where(lab, "vm2")
    assert until("vm2 answers", lambda: answers(IPS["vm2"]), 120)
    watcher = Watcher(lab)
    try:
        cut = time.time()
        builder.fail(source, LabFault.NETWORK, lambda _line: None)
        assert _qemu_alive(source, "vm2")  # still running, cut off
        t_run = until("vm2 runs on another node", lambda: watcher.first(
            "vm2", lambda w: bool(w) and source not in w), 90, lab, watcher)
        assert not _qemu_alive(source, "vm2") and not cgroups.pids_in(source)
        recovered = until("the recovery in the status", lambda: decided(
            lab, "recovered", cut, text="vm2 "), 30)
        fenced = decided(lab, "fenced", cut, source)
        assert fenced and recovered and fenced.time <= recovered.time
        assert abs((t_run - cut) - (FENCE_DELAY_S + ROUND_S)) <= TOLERANCE_S
        assert until("vm2 answers on its new node", lambda: answers(IPS["vm2"]), 120)
    finally:
        watcher.stop()
    builder.restore(source, lambda _line: None)  # network back, and powered on again
    # back whole: its path to the san too (a recovery may need it next)
    conn = libvirt.open(lab["layout"].nodes[int(source[3:]) - 1].uri)
    try:
        assert conn.storagePoolLookupByName(SAN_POOL).isActive()
    finally:
        conn.close()
    until(f"{source} online for the manager", lambda: (
        n := status(lab).node(source)) and n.state == "online", 60)
    until(f"{source}'s stale vm2 removed", lambda: decided(lab, "stale_removed", cut,
                                                            source), 60)


def test_without_quorum_nothing_is_fenced_or_recovered(lab):
    all_back(lab)
    holder = where(lab, "vm1")
    other = next(n.name for n in lab["layout"].nodes if n.name != holder)
    watcher = Watcher(lab)
    try:
        failed = time.time()
        builder.fail(holder, LabFault.POWER, lambda _line: None)
        builder.fail(other, LabFault.POWER, lambda _line: None)
        until("the manager says it has no quorum", lambda: decided(lab, "no_quorum", failed),
              30)
        until("three rounds past the fence delay", lambda: time.time() - failed
              > FENCE_DELAY_S + 3 * ROUND_S and status(lab).updated > failed
              + FENCE_DELAY_S + 3 * ROUND_S, 60)
        st = status(lab)
        assert not st.quorate and "1 of 3 votes, 2 needed" in st.quorum_text
        assert running_on(lab, "vm1") == set()
        assert not any(d.kind in ("fence", "fenced", "recovered") and d.time >= failed
                       for d in st.decisions)
        assert "recovers nothing" in decided(lab, "no_quorum", failed).message
        text = "\n".join(status_lines(st, "status.json"))
        assert "NO QUORUM: 1 of 3 votes" in text and "recovering nothing" in text
    finally:
        builder.restore(holder, lambda _line: None)
        builder.restore(other, lambda _line: None)
        watcher.stop()
    all_back(lab)
    for name in ("vm1", "vm2"):
        where(lab, name)  # each runs again, on one node


def test_a_failing_fence_command_blocks_recovery(lab):
    """The lab's manager is replaced by one whose fence command fails until a file
    exists: nothing is recovered while it fails; once it succeeds, vm1 is."""
    all_back(lab)
    layout = lab["layout"]
    hamanager.stop(layout)
    allow = lab["root"] / "fence-allowed"
    config = lab["root"] / "fence-config.toml"
    text = lab["config"].read_text().replace(
        'fence = "lab"', f'fence = "command"\nfence_command = ["sh", "-c", '
        f'"echo no answer from the BMC of {{node}} >&2; test -e {allow}"]')
    config.write_text(text)
    log = (lab["root"] / "fence-manager.log").open("w")
    manager = subprocess.Popen([sys.executable, "-m", "vmconsole", "ha", "--config",
                                str(config), "run", "--profile", "lab"],
                               stdout=log, stderr=subprocess.STDOUT)
    watcher = Watcher(lab)
    source = where(lab, "vm1")
    try:
        until("the new manager is quorate", lambda: status(lab).pid == manager.pid
              and status(lab).quorate, 60)
        failed = time.time()
        builder.fail(source, LabFault.POWER, lambda _line: None)
        node = until("three failed fences", lambda: (
            n if (n := status(lab).node(source)) and n.fence_tries >= 3 else None), 60)
        assert node.state == "fence" and "no answer from the BMC" in node.fence_error
        assert "exited with status 1" in node.fence_error
        assert running_on(lab, "vm1") == set()
        assert decided(lab, "recovered", failed) is None
        vm1 = next(s for s in status(lab).services if s.name == "vm1")
        assert vm1.state == "fence"
        failures = [d for d in status(lab).decisions if d.kind == "fence_failed"
                    and d.time >= failed]
        assert len(failures) >= 3 and "nothing of it is recovered" in failures[0].message
        out = "\n".join(status_lines(status(lab), "status.json"))
        assert f"{source}" in out and "fence failed" in out
        # the console shows the fence under way, as the manager says it
        (cluster,) = load_config(config).clusters("lab")
        backend = open_backend(cluster)
        try:
            until("the console shows the node in fence", lambda: (
                n := backend.inventory().node(source)) and n.ha_state is NodeHAState.FENCE,
                30)
            assert any(t.operation == "hafence" and t.error for t in backend.tasks())
        finally:
            backend.close()
        allow.touch()
        # the next round's fence succeeds; a start may then fail on one of the nodes left
        # at its timeout, and the round after starts it on the other
        survivors = len(lab["layout"].nodes) - 1
        t_run = until("vm1 recovered once a fence succeeds", lambda: watcher.first(
            "vm1", lambda w: bool(w) and source not in w),
            (survivors + 1) * ROUND_S + survivors * RECOVERY_START_S + TOLERANCE_S, lab, watcher)
        assert t_run > failed
        until("the recovery in the status", lambda: decided(lab, "recovered", failed), 30)
        fenced = decided(lab, "fenced", failed, source)
        assert fenced and "confirmed" in fenced.message
    finally:
        manager.terminate()
        try:
            manager.wait(timeout=90)  # systemd's default TimeoutStopSec
        finally:
            manager.kill()  # never left to act on the labs of later tests
        log.close()
        watcher.stop()
        builder.restore(source, lambda _line: None)
        hamanager.start(layout, lab["config"])
