"""The HA manager's rounds over libvirt's test driver, on a clock the test turns: three
hosts, an HA guest on pve1; pve1's host file taken away and its connection lost plays
a dead node. The lab (tests/lab/test_ha.py) does the same with real nodes and QEMU."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import pytest

pytest.importorskip("libvirt")

from vmconsole.audit import AuditLog
from vmconsole.backends.libvirt import LibvirtBackend, hamanager
from vmconsole.config import HAManagerConfig, LibvirtCluster
from vmconsole.ha.fencing import CommandFence
from vmconsole.ha.journal import Journal
from vmconsole.ha.manager import Manager

from .conftest import until_heard


def ha_meta(nodes: str = "") -> str:
    return ("<metadata><vmc:vmconsole xmlns:vmc='https://vmconsole.invalid/xmlns/1'>"
            f"<vmc:ha request='started'{f' nodes={nodes!r}' if nodes else ''}/>"
            "</vmc:vmconsole></metadata>")


def _host(path: Path, index: int, guest: bool, nodes: str = "", cores: int = 2) -> str:
    domain = (f"<domain type='test'><name>web</name>"
              f"<uuid>33333333-0000-4000-8000-000000000001</uuid>"
              f"<memory unit='MiB'>512</memory><vcpu>1</vcpu>"
              f"<os><type arch='x86_64'>hvm</type></os>{ha_meta(nodes)}</domain>"
              ) if guest else ""
    path.write_text(f"<node><cpu><mhz>2400</mhz><model>x86_64</model>"
                    f"<active>{cores}</active><nodes>1</nodes><sockets>1</sockets>"
                    f"<cores>{cores}</cores><threads>1</threads></cpu>"
                    f"<memory>{4 * cores * 1024 * 1024}</memory>{domain}</node>")
    return f"test://{path}"


class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def cluster(tmp_path, request):
    nodes = getattr(request, "param", "")  # the HA guest's `nodes`, Proxmox's syntax
    uris = tuple(_host(tmp_path / f"pve{i}.xml", i, i == 1, nodes) for i in (1, 2, 3))
    backend = LibvirtBackend(LibvirtCluster("kvm", uris, timeout=3.0))
    yield backend, tmp_path
    backend.close()


def manager(cluster, command=("true",), **settings) -> tuple[Manager, Clock, list[str]]:
    backend, tmp = cluster
    clock, said = Clock(), []
    cfg = HAManagerConfig(round=10.0, fence_delay=60.0, fence_command=command, **settings)
    journal = Journal("kvm", AuditLog(tmp / "audit.jsonl"), said.append, clock)
    return (Manager(backend, cfg, CommandFence(command, 5.0), journal,
                    tmp / "ha" / "kvm.json", clock), clock, said)


def pull_the_plug(cluster, node: str) -> None:
    backend, tmp = cluster
    shutil.move(tmp / f"{node}.xml", tmp / f"{node}.gone")  # it cannot come back
    backend.host_named(node).mark_lost("the test pulled its plug")


def kinds(status) -> list[str]:
    return [d.kind for d in status.decisions]


def test_a_lost_node_is_fenced_after_the_delay_then_its_guest_recovered(cluster):
    ha, clock, said = manager(cluster)
    first = ha.round()
    assert first.quorate and [s.state for s in first.services] == ["started"]
    assert first.services[0].node == "pve1"
    pull_the_plug(cluster, "pve1")
    clock.t += 1
    lost = ha.round()
    assert lost.node("pve1").state == "unknown" and lost.quorate
    assert "fenced after the 60 s fence delay" in lost.decisions[-1].message
    clock.t += 58  # 59 s since the last round that saw it: not yet
    assert ha.round().services[0].state == "started"
    clock.t += 2
    done = ha.round()
    assert kinds(done)[-3:] == ["fence", "fenced", "recovered"]
    (web,) = done.services
    assert web.state == "started" and web.node in ("pve2", "pve3")
    assert "candidates:" in done.decisions[-1].message
    backend, _ = cluster
    inv = backend.inventory()
    assert [(g.node, g.running) for g in inv.guests if g.name == "web" and g.running] == [
        (web.node, True)]
    assert any("fenced by command true" in line for line in said)
    assert [t.operation for t in done.tasks][-2:] == ["hafence", "harecover"]


def test_a_node_is_seen_when_a_slow_reading_ends_not_when_its_round_began(
        cluster, monkeypatch):
    ha, clock, _said = manager(cluster)
    backend, _ = cluster
    read = backend.inventory

    def busy_libvirtd():  # seconds over a reading, as a loaded lab's libvirtd takes
        clock.t += 5
        return read()

    monkeypatch.setattr(backend, "inventory", busy_libvirtd)
    began = clock.t
    assert ha.round().node("pve1").last_seen == began + 5
    monkeypatch.setattr(backend, "inventory", read)
    pull_the_plug(cluster, "pve1")
    clock.t += 1
    assert ha.round().node("pve1").state == "unknown"
    clock.t = began + 64  # 64 s since the round began, 59 since pve1 answered: not yet
    assert "fence" not in kinds(ha.round())
    clock.t = began + 66
    assert kinds(ha.round())[-3:] == ["fence", "fenced", "recovered"]


@pytest.mark.parametrize(("cluster", "expected"), [
    ("", "pve2"),  # no affinity: the first of two equal nodes
    ("pve1:3,pve2:1,pve3:2", "pve3"),  # Proxmox's group priorities: the highest online
    ("pve1,pve2,pve3:1", "pve3"),  # a node without a priority has 0
], indirect=["cluster"])
def test_recovery_goes_to_the_online_node_of_highest_priority(cluster, expected):
    ha, clock, _said = manager(cluster)
    ha.round()
    pull_the_plug(cluster, "pve1")
    clock.t += 1
    ha.round()
    clock.t += 60
    (web,) = ha.round().services
    assert (web.state, web.node) == ("started", expected)


def test_without_quorum_a_lost_node_is_neither_fenced_nor_its_guest_recovered(cluster):
    ha, clock, _said = manager(cluster)
    ha.round()
    pull_the_plug(cluster, "pve1")
    pull_the_plug(cluster, "pve2")
    for _ in range(10):
        clock.t += 10
        status = ha.round()
    assert not status.quorate and "1 of 3 votes, 2 needed" in status.quorum_text
    assert "no_quorum" in kinds(status)
    assert not {"fence", "fenced", "recovered"} & set(kinds(status))
    assert status.services[0].state == "started" and status.services[0].node == "pve1"


def test_a_failing_fence_is_retried_every_round_and_blocks_recovery(cluster):
    ha, clock, _said = manager(cluster, ("false",))
    ha.round()
    pull_the_plug(cluster, "pve1")
    for _ in range(9):
        clock.t += 10
        status = ha.round()
    node = status.node("pve1")
    assert node.state == "fence" and node.fence_tries >= 3
    assert "false exited with status 1" in node.fence_error
    assert status.services[0].state == "fence" and "recovered" not in kinds(status)
    assert kinds(status).count("fence_failed") == node.fence_tries


def test_the_console_shows_what_the_manager_wrote(cluster, tmp_path):
    ha, clock, _said = manager(cluster, ("false",))
    ha.round()
    pull_the_plug(cluster, "pve1")
    clock.t += 61
    ha.round()  # pve1 in fence, its fence failing
    backend, _ = cluster
    view = LibvirtBackend(LibvirtCluster("kvm", backend.cfg.uris, timeout=3.0, ha=(
        HAManagerConfig(fence="lab", status_file=str(tmp_path / "ha" / "kvm.json")))))
    try:
        inv = view.inventory()
        assert inv.node("pve1").ha_state == "fence"
        assert (inv.quorum.votes, inv.quorum.expected, inv.quorum.quorate) == (2, 3, True)
        events = [(e.kind, e.node) for e in view.events()]
        assert ("ha_node_lost", "pve1") in events and ("fence", "pve1") in events
        assert ("fence_failed", "pve1") in events
        (task,) = [t for t in view.tasks() if t.operation == "hafence"]
        assert task.user == "ha-manager" and "exited with status 1" in task.error
        assert view.task(task.id) == task
    finally:
        view.close()
    # a status three rounds and a fence timeout old: its manager has stopped
    clock.t = time.time() - 3 * 10 - 60 - 1
    ha.round()
    view = LibvirtBackend(LibvirtCluster("kvm", backend.cfg.uris, timeout=3.0, ha=(
        HAManagerConfig(fence="lab", status_file=str(tmp_path / "ha" / "kvm.json")))))
    try:
        inv = view.inventory()
        assert inv.node("pve2").ha_state == "no manager"
    finally:
        view.close()


def test_a_started_service_found_stopped_is_started_again_and_a_stopped_one_shut_down(
        cluster):
    ha, clock, _said = manager(cluster)
    backend, _ = cluster
    ha.round()
    conn = backend.host_named("pve1").connection()
    dom = conn.lookupByName("web")
    dom.destroy()  # an admin's hard stop: HA's request is still `started`
    until_heard(backend, "web stopped on pve1")
    clock.t += 10
    status = ha.round()
    assert dom.isActive() and status.decisions[-1].kind == "hastart"
    assert "start web on pve1: its request is started" in status.decisions[-1].message
    meta = dom.metadata(2, "https://vmconsole.invalid/xmlns/1")  # VIR_DOMAIN_METADATA_ELEMENT
    dom.setMetadata(2, meta.replace("started", "stopped"), "vmc",
                    "https://vmconsole.invalid/xmlns/1", 0)
    backend.cache(backend.host_named("pve1")).drop()  # read the new mark now
    clock.t += 10
    status = ha.round()
    assert status.services[0].request == "stopped"
    assert status.decisions[-1].kind == "hastop" and "shut down web" in (
        status.decisions[-1].message)
    clock.t += 10
    again = ha.round()
    assert [d.kind for d in again.decisions].count("hastop") == 1  # asked once a minute


def test_a_guest_taken_out_of_ha_is_not_started_on_a_stale_definition(cluster):
    """The round's definitions are cached until a lifecycle event, and a console's
    removal from HA is none: a round that read the guest stopped with its old HA mark
    started it again, and the lab's restore over it failed ("vm1 was started during the
    restore"). The start reads the mark afresh first."""
    ha, clock, _said = manager(cluster)
    backend, _ = cluster
    ha.round()
    host = backend.host_named("pve1")
    dom = host.connection().lookupByName("web")
    stale = backend.cache(host).get(dom.UUIDString())
    assert stale is not None and stale.desc.meta.ha is not None
    dom.destroy()
    until_heard(backend, "web stopped on pve1")
    dom.setMetadata(2, None, None, "https://vmconsole.invalid/xmlns/1", 0)  # out of HA
    backend.cache(host).put(dom.UUIDString(), stale)  # the round's read raced the mark
    clock.t += 10
    status = ha.round()
    assert not dom.isActive()
    assert "hastart" not in kinds(status)


def test_a_recovered_guest_is_listed_once_where_it_runs_until_its_dead_node_returns(
        cluster):
    ha, clock, _said = manager(cluster)
    backend, tmp = cluster
    ha.round()
    (web,) = backend.inventory().guests
    pull_the_plug(cluster, "pve1")
    clock.t += 1
    ha.round()
    clock.t += 60
    (recovered,) = ha.round().services
    assert recovered.node != "pve1"
    # the console's view of the same hosts (a test-driver host is one connection's):
    # pve1's copy is remembered from before it died, the recovered one runs
    backend.ha_view = hamanager.ManagerView(tmp / "ha" / "kvm.json", backend.log)
    inv = backend.inventory()
    assert inv.node("pve1").status == "offline"
    assert [(g.id, g.node, g.status, g.duplicate) for g in inv.guests] == [
        (web.id, recovered.node, "running", None)]


@pytest.fixture
def listeners():
    """A TCP listener per node on a loopback address of its own (127.0.0.1-3), one port."""
    first = socket.create_server(("127.0.0.1", 0))
    port = first.getsockname()[1]
    socks = {"pve1": first, **{f"pve{i}": socket.create_server((f"127.0.0.{i}", port))
                               for i in (2, 3)}}
    yield port, socks
    for sock in socks.values():
        sock.close()


def test_a_node_whose_address_stops_answering_is_lost_though_its_libvirtd_answers(
        cluster, listeners):
    port, socks = listeners
    ha, clock, _said = manager(cluster, probe=f"tcp:{port}", probe_timeout=0.5,
                               probe_addresses=tuple((f"pve{i}", f"127.0.0.{i}")
                                                     for i in (1, 2, 3)))
    assert ha.round().node("pve1").state == "online"
    socks["pve1"].close()  # its management network is cut; its libvirtd still answers
    clock.t += 1
    lost = ha.round()
    assert lost.node("pve1").state == "unknown" and lost.quorate
    assert (f"its address 127.0.0.1 does not answer TCP port {port}: Connection refused"
            in lost.decisions[-1].message)
    clock.t += 30
    assert ha.round().node("pve1").state == "unknown"  # the fence delay runs on
    pull_the_plug(cluster, "pve1")  # what its fence agent does: power it off
    clock.t += 30
    done = ha.round()
    assert kinds(done)[-3:] == ["fence", "fenced", "recovered"]
    assert done.services[0].node in ("pve2", "pve3")


@pytest.mark.parametrize(("crs", "target", "terms"), [
    ("basic", "pve2", "pve2 (0 HA services"),  # equal counts: the first node
    ("static", "pve3", "pve3 (TOPSIS 1.00"),  # the bigger host
])
def test_recovery_follows_the_configured_scheduler(tmp_path, crs, target, terms):
    """`crs` in the ha table: basic counts HA services; static scores by TOPSIS over CPU
    and memory with the guest's vCPUs and memory added, so it picks the bigger of two
    empty hosts; the decision gives each candidate in the mode's terms."""
    uris = tuple(_host(tmp_path / f"pve{i}.xml", i, i == 1, cores=2 if i < 3 else 8)
                 for i in (1, 2, 3))
    backend = LibvirtBackend(LibvirtCluster("kvm", uris, timeout=3.0))
    try:
        ha, clock, _said = manager((backend, tmp_path), crs=crs)
        ha.round()
        pull_the_plug((backend, tmp_path), "pve1")
        clock.t += 1
        ha.round()
        clock.t += 60
        done = ha.round()
        assert done.services[0].node == target
        message = done.decisions[-1].message
        assert terms in message and "chosen" in message and "pve1 out: offline" in message
    finally:
        backend.close()


def test_a_recovery_that_fails_on_a_node_goes_to_the_next_one(tmp_path):
    """pve2 (the guest's first choice) defines another domain named web: the recovery's
    define fails there, and the next round goes to pve3, the best node it has not
    failed on (Manager.pm's failed_nodes), instead of trying pve2 again every round."""
    uris = [_host(tmp_path / f"pve{i}.xml", i, i == 1, "pve2:2,pve3:1") for i in (1, 2, 3)]
    other = (tmp_path / "pve2.xml").read_text().replace("</memory>", "</memory>"
             "<domain type='test'><name>web</name><uuid>44444444-0000-4000-8000-00000000000"
             "2</uuid><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>"
             "hvm</type></os></domain>", 1)
    (tmp_path / "pve2.xml").write_text(other)
    backend = LibvirtBackend(LibvirtCluster("kvm", tuple(uris), timeout=3.0))
    try:
        ha, clock, _said = manager((backend, tmp_path))
        ha.round()
        pull_the_plug((backend, tmp_path), "pve1")
        clock.t += 1
        ha.round()
        clock.t += 60
        failed = ha.round()
        assert failed.services[0].state == "recovery"
        assert "recovery on pve2 failed" in failed.decisions[-1].message
        assert "already exists" in failed.decisions[-1].message
        clock.t += 10
        done = ha.round()
        assert (done.services[0].state, done.services[0].node) == ("started", "pve3")
        message = done.decisions[-1].message
        assert "recovered from pve1 on pve3" in message and "pve2 out: its recovery failed" \
            " there: " in message
        # pve2 keeps its own web only; the dead pve1's copy is listed, not running
        webs = [(g.node, g.id.split("@")[0], g.running) for g in backend.inventory().guests
                if g.name == "web" and g.node != "pve1"]
        assert sorted(webs) == [("pve2", "vm/44444444-0000-4000-8000-000000000002", True),
                                ("pve3", "vm/33333333-0000-4000-8000-000000000001", True)]
    finally:
        backend.close()


def test_a_guest_found_running_while_in_recovery_is_recovered_there(cluster):
    """Its start outlived the manager's wait, or an admin started it during the lock
    lease: the manager takes it as recovered where it runs, and starts no second copy."""
    ha, clock, _said = manager(cluster, lock_lease=120.0)
    ha.round()
    pull_the_plug(cluster, "pve1")
    clock.t += 1
    ha.round()
    clock.t += 60
    waiting = ha.round()
    assert waiting.services[0].state == "recovery" and "lock lease" in waiting.services[0].why
    backend, _tmp = cluster
    xml = ha.configs.get("33333333-0000-4000-8000-000000000001")
    assert xml is not None
    backend.host_named("pve3").call(lambda c: c.defineXML(xml).create(), "starting web")
    clock.t += 10
    done = ha.round()
    assert (done.services[0].state, done.services[0].node) == ("started", "pve3")
    assert "recovered from pve1 on pve3 and found running on pve3" in done.decisions[-1].message
    assert "harecover" not in [t.operation for t in done.tasks]
    running = [g.node for g in backend.inventory().guests if g.name == "web" and g.running]
    assert running == ["pve3"]


def test_ha_status_says_a_node_never_seen_online_was_never_seen(tmp_path):
    """pve3 has not answered since the manager started, nor since it was restarted:
    `ha status` gave it a "last seen" time, the time the manager began watching it.
    pve1, seen by the run before the restart, keeps the time that run saw it."""
    from vmconsole.ha.report import status_lines
    from vmconsole.ha.status import read_status
    from vmconsole.wallclock import clock_time

    uris = (*(_host(tmp_path / f"pve{i}.xml", i, i == 1) for i in (1, 2)),
            f"test://{tmp_path / 'pve3.xml'}")  # no such file: it never answers
    backend = LibvirtBackend(LibvirtCluster("kvm", uris, timeout=3.0))

    def node_lines(ha: Manager) -> dict[str, str]:
        while ha.round().node("pve3") is None:  # the first answers are still coming
            pass
        shown = status_lines(read_status(tmp_path / "ha" / "kvm.json"), "kvm.json")
        return {line.split()[0]: line for line in shown if line.startswith("  pve")}

    try:
        ha, clock, _said = manager((backend, tmp_path))
        before = node_lines(ha)
        assert before["pve3"].endswith("does not answer, never seen online")
        seen = clock.t
        pull_the_plug((backend, tmp_path), "pve1")
        ha, clock, _said = manager((backend, tmp_path))  # the manager restarted
        clock.t = seen + 100
        after = node_lines(ha)
        assert after["pve3"].endswith("does not answer, never seen online")
        assert after["pve1"].endswith(f"does not answer, last seen {clock_time(seen)}")
    finally:
        backend.close()
