"""The real lab: two nodes with their own libvirtd, TCG guests, live migration measured
by probes inside the LAN namespace, a node's libvirtd killed and restarted, teardown.

One lab serves the whole module (it takes seconds to build, not minutes)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from vmconsole.lab import checks

pytestmark = [pytest.mark.lab, pytest.mark.timeout(240)]


def _skip_reason() -> str | None:
    problems = checks.problems()
    if problems:
        return "; ".join(problems)
    if Path("/run/netns/vmclab-lan").exists():
        return "a lab is already up on this machine (vmconsole lab down first)"
    return None


if (reason := _skip_reason()) is not None:
    pytest.skip(reason, allow_module_level=True)

from vmconsole.backends.base import CloneSpec, Conflict, MigrationMode, TaskStatus  # noqa: E402
from vmconsole.backends.libvirt import open_libvirt  # noqa: E402
from vmconsole.config import LibvirtCluster, load_config  # noqa: E402
from vmconsole.lab import builder, cgroups, daemon, network  # noqa: E402
from vmconsole.lab.layout import TEMPLATE  # noqa: E402
from vmconsole.lab.probe import PingProbe, answers  # noqa: E402
from vmconsole.model import GuestStatus, NodeStatus  # noqa: E402

from ..libvirt.conftest import wait  # noqa: E402


def until(what, check, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    config = root / "config.toml"
    config.write_text('theme = "vmconsole-dark"\n')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VMCONSOLE_LAB_DIR", str(root / "state"))
        started = time.monotonic()
        layout = builder.up(2, 1, config, lambda _line: None)
        up_s = time.monotonic() - started
        (cluster,) = load_config(config).clusters("lab")
        assert isinstance(cluster, LibvirtCluster)
        backend = open_libvirt(cluster)
        try:
            yield {"layout": layout, "config": config, "backend": backend, "up_s": up_s}
        finally:
            backend.close()
            builder.down(config, lambda _line: None)


def test_the_lab_comes_up_with_its_profile_and_answering_guests(lab):
    assert lab["up_s"] < 60
    inv = lab["backend"].inventory()
    assert [(n.name, n.status) for n in inv.nodes] == [("pve1", NodeStatus.ONLINE),
                                                       ("pve2", NodeStatus.ONLINE)]
    vm1 = next(g for g in inv.guests if g.name == "vm1")
    assert vm1.status is GuestStatus.RUNNING and vm1.ip == "10.77.0.11"
    assert next(g for g in inv.guests if g.name == TEMPLATE).template
    assert until("vm1 answers ping in the LAN namespace", lambda: answers("10.77.0.11"), 30)
    # The root namespace never gets an address or a route of the lab.
    assert "10.77." not in subprocess.run(["ip", "-4", "addr"], capture_output=True,
                                          text=True).stdout
    assert "10.77." not in subprocess.run(["ip", "route"], capture_output=True,
                                          text=True).stdout
    status = "\n".join(builder.status(lab["config"]))
    assert "LAN namespace: vmclab-lan (up)" in status and "vm1(running)" in status
    assert f"profile 'lab' in {lab['config']}: present" in status


def test_lab_up_again_is_the_same_lab(lab):
    before = lab["backend"].inventory()
    builder.up(2, 1, lab["config"], lambda _line: None)
    after = lab["backend"].inventory()
    assert {g.id for g in after.guests} == {g.id for g in before.guests}
    assert lab["config"].read_text().startswith('theme = "vmconsole-dark"\n')


def test_create_from_template_then_snapshot_with_ram_and_roll_back(lab):
    backend = lab["backend"]
    template = next(g for g in backend.inventory().guests if g.name == TEMPLATE)
    task = wait(backend, backend.clone(template.id, CloneSpec("web", "pve1", full=False)))
    assert task.status is TaskStatus.OK, task.error
    web_id = str(task.result["new_id"])
    assert wait(backend, backend.start(web_id)).status is TaskStatus.OK
    task = wait(backend, backend.snapshot_create(web_id, "booted", "fresh", vmstate=True))
    assert task.status is TaskStatus.OK, task.error
    (snap,) = backend.snapshots(web_id)
    assert (snap.name, snap.vmstate, snap.current) == ("booted", True, True)
    assert wait(backend, backend.stop(web_id)).status is TaskStatus.OK
    task = wait(backend, backend.snapshot_rollback(web_id, "booted"))
    assert task.status is TaskStatus.OK, task.error
    # A snapshot with RAM brings the guest back running, as it was.
    assert backend.inventory().guest(web_id).status is GuestStatus.RUNNING
    wait(backend, backend.stop(web_id))
    lab["web_id"] = web_id


def test_clone_gets_a_new_identity(lab):
    backend = lab["backend"]
    web_id = lab["web_id"]
    task = wait(backend, backend.clone(web_id, CloneSpec("web-copy", "pve1")))
    assert task.status is TaskStatus.OK, task.error
    copy = backend.inventory().guest(str(task.result["new_id"]))
    assert copy is not None and copy.name == "web-copy" and copy.id != web_id
    conn = backend.host_named("pve1").connection()
    macs = [re.findall(r"mac address='([^']+)'", conn.lookupByName(n).XMLDesc(0))
            for n in ("web", "web-copy")]
    assert macs[0] != macs[1]
    with pytest.raises(Conflict):
        backend.clone(web_id, CloneSpec("vm1", "pve1"))


def test_live_migration_costs_under_a_second_and_libvirt_says_how_much(lab):
    backend = lab["backend"]
    vm1 = next(g for g in backend.inventory().guests if g.name == "vm1")
    target = "pve2" if vm1.node == "pve1" else "pve1"
    assert until("vm1 answers", lambda: answers("10.77.0.11"), 30)
    probe = PingProbe("10.77.0.11", seconds=6.0, interval_s=0.01)
    time.sleep(1.0)
    task = wait(backend, backend.migrate(vm1.id, target, MigrationMode.LIVE))
    outage = probe.result()
    assert task.status is TaskStatus.OK, task.error
    assert backend.inventory().guest(vm1.id).node == target
    downtime = task.result["downtime_ms"]
    assert isinstance(downtime, int) and 0 < downtime < 1000
    assert f"libvirt reports downtime {downtime} ms" in "\n".join(task.log)
    assert outage.replies > 100
    assert outage.longest_gap_s < 1.0, outage
    events = {e.kind: e for e in backend.events() if e.guest == vm1.id}
    assert {"migration_started", "stop_and_copy", "migration_resumed"} <= set(events)
    assert f"downtime {downtime} ms (libvirt)" in events["migration_done"].message


def test_a_migrating_guest_stays_one_row_with_one_id(lab):
    backend = lab["backend"]
    vm1 = next(g for g in backend.inventory().guests if g.name == "vm1")
    target = "pve2" if vm1.node == "pve1" else "pve1"
    seen: list = []
    stop = threading.Event()

    def poll() -> None:  # the console's view while both hosts know the domain
        while not stop.is_set():
            seen.append([(g.id, g.node) for g in backend.inventory().guests
                         if g.name == "vm1"])
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        task = wait(backend, backend.migrate(vm1.id, target, MigrationMode.LIVE))
    finally:
        stop.set()
        poller.join(10)
    assert task.status is TaskStatus.OK, task.error
    assert len(seen) >= 2 and all(len(rows) == 1 and rows[0][0] == vm1.id for rows in seen)
    assert backend.inventory().guest(vm1.id).node == target


def test_a_migration_that_keeps_its_source_leaves_two_copies_each_acted_on_alone(lab):
    import libvirt

    backend = lab["backend"]
    vm1 = next(g for g in backend.inventory().guests if g.name == "vm1")
    source = backend.host_named(vm1.node)
    target = backend.host_named("pve2" if vm1.node == "pve1" else "pve1")
    _host, dom = backend.locate(vm1.id)
    uuid = dom.UUIDString()
    dconn = target.connection()
    with target.hold(dconn):  # virsh migrate --live --persistent, without --undefinesource
        source.call(lambda _c: dom.migrate3(
            dconn, {}, libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PERSIST_DEST),
            "migrating vm1 and keeping its source", timeout=120)
    try:
        copies = until("two rows for vm1", lambda: rows_of(backend, "vm1", 2), 15)
        left, moved = (next(g for g in copies if g.node == node.name)
                       for node in (source, target))
        assert (left.id, moved.id) == (f"vm/{uuid}@{source.name}", f"vm/{uuid}@{target.name}")
        assert (left.status, moved.status) == (GuestStatus.STOPPED, GuestStatus.RUNNING)
        assert left.duplicate is not None and left.duplicate.nodes == (target.name,)
        with pytest.raises(Conflict, match=f"already runs on {target.name}"):
            backend.start(left.id)
        assert backend.inventory().guest(left.id).status is GuestStatus.STOPPED
    finally:
        source.call(lambda c: c.lookupByUUIDString(uuid).undefine(), "undefining the copy")
    (after,) = until("one row again", lambda: rows_of(backend, "vm1", 1), 15)
    assert after.id == vm1.id and after.node == target.name and after.duplicate is None


def rows_of(backend, name: str, count: int) -> list | None:
    """The guests called `name` once there are `count` of them, else None."""
    rows = [g for g in backend.inventory().guests if g.name == name]
    return rows if len(rows) == count else None


def test_a_killed_libvirtd_is_lost_mid_poll_and_found_again(lab):
    backend = lab["backend"]
    node = lab["layout"].nodes[1]
    seen: list = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            seen.append(backend.inventory())
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        os.kill(daemon.pid_of(node), signal.SIGKILL)
        lost = until("pve2 offline", lambda: next(
            (i for i in seen[-3:] if i.node("pve2").status is NodeStatus.OFFLINE), None), 10)
        assert lost.node("pve1").status is NodeStatus.ONLINE
        assert all(g.status is GuestStatus.UNKNOWN for g in lost.guests_on("pve2"))
        daemon.start(node)
        back = until("pve2 online again", lambda: next(
            (i for i in seen[-3:] if i.node("pve2").status is NodeStatus.ONLINE), None), 30)
        # Its guests kept running under QEMU while their libvirtd was away.
        assert any(g.status is GuestStatus.RUNNING for g in back.guests_on("pve2"))
    finally:
        stop.set()
        poller.join(10)
    kinds = [e.kind for e in backend.events() if e.node == "pve2"]
    assert kinds[-2:] == ["node_lost", "node_online"]


def test_down_leaves_nothing(lab):
    layout = lab["layout"]
    pids = {daemon.pid_of(n) for n in layout.nodes} | {
        p for n in layout.nodes for p in cgroups.pids_in(n.name)}
    assert builder.down(lab["config"], lambda _line: None) == []
    assert network.lab_namespaces() == []
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert "veth-pve" not in links and "lanbr0" not in links
    assert not any(daemon.alive(p) for p in pids if p)
    assert cgroups.leftovers() == []
    assert not layout.root.exists()
    assert "profiles.lab" not in lab["config"].read_text()
