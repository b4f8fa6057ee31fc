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

import pytest

from tests.lab.built import BuiltLab, LabShape, settled, until, what_happened
from tests.lab.requires import skip_unless_a_lab_can_be_built

pytestmark = [pytest.mark.lab, pytest.mark.timeout(400)]


skip_unless_a_lab_can_be_built()

from vmconsole.audit import AuditLog, default_audit_path  # noqa: E402
from vmconsole.backends import open_backend  # noqa: E402
from vmconsole.backends.abilities import FaultKind, SupportsFaults  # noqa: E402
from vmconsole.backends.base import (  # noqa: E402
    BackendError,
    Conflict,
    InvalidInput,
    MigrationMode,
    TaskStatus,
)
from vmconsole.backends.clones import CloneSpec  # noqa: E402
from vmconsole.backends.libvirt import open_libvirt  # noqa: E402
from vmconsole.backends.libvirt.domainbook import FULL_READ_S  # noqa: E402
from vmconsole.lab import (  # noqa: E402
    builder,
    cgroups,
    daemon,
    dhcp,
    faults,
    network,
    san,
)
from vmconsole.lab.faults import LabFault  # noqa: E402
from vmconsole.lab.layout import CT_TEMPLATE, TEMPLATE  # noqa: E402
from vmconsole.lab.probe import PingProbe, answers, http_page  # noqa: E402
from vmconsole.lab.shell import in_netns  # noqa: E402
from vmconsole.model import Guest, GuestKind, GuestStatus, Inventory, NodeStatus, Storage  # noqa: E402
from vmconsole.ui.screens.faults import FaultScreen  # noqa: E402
from vmconsole.ui.widgets.cluster_tree import ClusterTree, TreeRef  # noqa: E402

from ..libvirt.conftest import wait  # noqa: E402
from ..ui_ops.helpers import detail_rows, live_console, tree_label, wait_until  # noqa: E402

LAB = LabShape(nodes=2, containers=1, audit=True, config='theme = "vmconsole-dark"\n')


@pytest.fixture(scope="module")
def lab(built_lab: BuiltLab):
    backend = open_libvirt(built_lab.cluster)
    try:
        yield {"layout": built_lab.layout, "config": built_lab.config, "backend": backend,
               "up_s": built_lab.up_s, "cluster": built_lab.cluster,
               "started": built_lab.started}
    finally:
        backend.close()


def test_the_lab_comes_up_with_its_profile_and_answering_guests(lab):
    assert lab["up_s"] < 60
    # A TCG guest that is booting can keep its libvirtd's stats waiting for seconds.
    inv = until("both nodes online", lambda: next(
        (i for i in [lab["backend"].inventory()]
         if [n.status for n in i.nodes] == [NodeStatus.ONLINE] * 2), None), 60)
    assert [n.name for n in inv.nodes] == ["pve1", "pve2"]
    vm1 = next(g for g in inv.guests if g.name == "vm1")
    assert vm1.status is GuestStatus.RUNNING and vm1.ip == "10.77.0.11"
    assert next(g for g in inv.guests if g.name == TEMPLATE).template
    assert until("vm1 answers ping in the LAN namespace", lambda: answers("10.77.0.11"), 30)
    page = until("vm1 serves HTTP", lambda: http_page("10.77.0.11"), 30)
    assert page.startswith("vm1 ") and "10.77.0.11/24" in page
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
    builder.up(2, 1, lab["config"], lambda _line: None, containers=1)
    after = lab["backend"].inventory()
    assert {g.id for g in after.guests} == {g.id for g in before.guests}
    assert lab["config"].read_text().startswith('theme = "vmconsole-dark"\n')


def _mac(where, name: str, node: str | None = None) -> str:
    """The MAC of a guest, through a host or (with `node`) a backend's host of a node."""
    host = where.host_named(node) if node else where
    xml = host.connection().lookupByName(name).XMLDesc(0)
    return re.findall(r"mac address='([^']+)'", xml)[0]


def test_create_from_template_on_the_san_and_migrate_it_live(lab):
    backend = lab["backend"]
    inv = backend.inventory()
    san = [s for s in inv.storages if s.name == "san"]
    assert {s.node for s in san} == {"pve1", "pve2"} and all(s.shared for s in san)
    template = next(g for g in inv.guests if g.name == TEMPLATE)
    assert template.storages == ("san",)
    with pytest.raises(InvalidInput, match="no qcow2 overlay can be made there"):
        backend.clone(template.id, CloneSpec("web", "pve2", full=False))
    # Made on the other node than the template's: the copy is a LUN every node sees.
    task = wait(backend, backend.clone(template.id, CloneSpec("web", "pve2")))
    assert task.status is TaskStatus.OK, task.error
    assert "with QEMU's block copy" in "\n".join(task.log)
    web_id = str(task.result["new_id"])
    web = backend.inventory().guest(web_id)
    assert web.node == "pve2" and web.storages == ("san",)
    assert wait(backend, backend.start(web_id)).status is TaskStatus.OK
    mac = _mac(backend, "web", "pve2")
    # TCG boots slowly on a busy machine: allow for it
    ip = until("web leases an address", lambda: dhcp.lease_of(lab["layout"], mac), 120)
    assert until("web answers ping", lambda: answers(ip), 60)
    targets = {t.node: t for t in backend.migration_targets(web_id)}
    assert targets["pve1"].allowed and not targets["pve1"].local_disks, targets
    probe = PingProbe(ip, seconds=8.0, interval_s=0.01)
    time.sleep(1.0)
    task = settled(backend, backend.migrate(web_id, "pve1", MigrationMode.LIVE))
    outage = probe.result()
    assert task.status is TaskStatus.OK, what_happened(backend, task)
    moved = backend.inventory().guest(web_id)
    assert moved is not None and moved.node == "pve1", what_happened(backend, task)
    assert outage.replies > 100 and outage.longest_gap_s < 1.0, outage
    lab["web_id"], lab["web_ip"] = web_id, ip


def _web_id(lab) -> str:
    """The id of `web`, the guest the test above makes on the san; the tests that use
    it fail saying so, not with a KeyError, when that test failed."""
    if "web_id" not in lab:
        pytest.fail("no guest web: test_create_from_template_on_the_san_and_migrate_it_live, "
                    "which makes it, failed", pytrace=False)
    return str(lab["web_id"])


def test_snapshot_with_ram_on_the_san_blocks_migration_and_rolls_back(lab):
    backend = lab["backend"]
    web_id = _web_id(lab)
    task = wait(backend, backend.snapshot_create(web_id, "booted", "fresh", vmstate=True))
    assert task.status is TaskStatus.OK, task.error
    (snap,) = backend.snapshots(web_id)
    assert (snap.name, snap.vmstate, snap.current) == ("booted", True, True)
    (pve2,) = [t for t in backend.migration_targets(web_id) if t.node == "pve2"]
    assert not pve2.allowed and "has 1 snapshot(s)" in pve2.reason
    # A graceful shutdown: the guest powers off on the ACPI button, well within 30 s.
    task = wait(backend, backend.shutdown(web_id, timeout=30.0))
    assert task.status is TaskStatus.OK, task.error
    task = wait(backend, backend.snapshot_rollback(web_id, "booted"))
    assert task.status is TaskStatus.OK, task.error
    # A snapshot with RAM brings the guest back running, as it was: answering at once.
    assert backend.inventory().guest(web_id).status is GuestStatus.RUNNING
    assert until("web answers after the rollback", lambda: answers(lab["web_ip"]), 30)
    wait(backend, backend.stop(web_id))


def test_clone_gets_a_new_identity(lab):
    backend = lab["backend"]
    web_id = _web_id(lab)
    task = wait(backend, backend.clone(web_id, CloneSpec("web-copy", "pve1")))
    assert task.status is TaskStatus.OK, task.error
    copy = backend.inventory().guest(str(task.result["new_id"]))
    assert copy is not None and copy.name == "web-copy" and copy.id != web_id
    assert _mac(backend, "web", "pve1") != _mac(backend, "web-copy", "pve1")
    conn = backend.host_named("pve1").connection()
    volumes = [re.findall(r"volume='([^']+)'", conn.lookupByName(n).XMLDesc(0))
               for n in ("web", "web-copy")]
    assert volumes[0] != volumes[1]
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


def test_a_migrating_guest_stays_one_row_with_one_id_and_its_nodes_online(lab):
    # Longer than the timeout, as a big guest's: the destination's libvirtd holds the
    # incoming domain's job to the end, and a poll that waited for it (up to 30 s) made
    # the console mark the node lost, its guests gone from the tree, and miss
    # libvirt's downtime figure.
    backend = lab["backend"]
    vm1 = next(g for g in backend.inventory().guests if g.name == "vm1")
    target = "pve2" if vm1.node == "pve1" else "pve1"
    _host, dom = backend.locate(vm1.id)
    dom.migrateSetMaxSpeed(6, 0)  # MiB/s: vm1's RAM then takes longer than the timeout
    seen: list = []
    stop = threading.Event()

    def poll() -> None:  # the console's view while both hosts know the domain
        while not stop.is_set():
            inv = backend.inventory()
            seen.append(([(n.name, n.status) for n in inv.nodes],
                         [(g.id, g.node) for g in inv.guests if g.name == "vm1"]))
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        task = settled(backend, backend.migrate(vm1.id, target, MigrationMode.LIVE), 120)
    finally:
        stop.set()
        poller.join(30)
    assert task.status is TaskStatus.OK, what_happened(backend, task)
    assert task.result["wall_s"] > lab["cluster"].timeout, what_happened(backend, task)
    offline = [nodes for nodes, _rows in seen
               if any(status is not NodeStatus.ONLINE for _name, status in nodes)]
    assert not offline, (offline[:3], what_happened(backend, task))
    assert len(seen) >= 2 and all(len(rows) == 1 and rows[0][0] == vm1.id
                                  for _nodes, rows in seen)
    assert "libvirt reports downtime" in "\n".join(task.log), what_happened(backend, task)
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


def test_a_container_migrates_by_restart_and_is_made_from_its_template(lab):
    backend = lab["backend"]
    inv = backend.inventory()
    ct1 = next(g for g in inv.guests if g.name == "ct1")
    assert (ct1.kind, ct1.node, ct1.status, ct1.ip) == (
        GuestKind.CT, "pve2", GuestStatus.RUNNING, "10.77.0.61")
    assert 0 < ct1.metrics.mem <= ct1.maxmem  # what its processes use, from its cgroup
    template = next(g for g in inv.guests if g.name == CT_TEMPLATE)
    assert template.kind is GuestKind.CT and template.template
    assert until("ct1 answers", lambda: answers(ct1.ip), 30)
    page = until("ct1 serves HTTP", lambda: http_page(ct1.ip), 30)
    assert page.startswith("ct1 ") and f"{ct1.ip}/" in page
    (pve1,) = [t for t in backend.migration_targets(ct1.id) if t.node == "pve1"]
    assert pve1.allowed and "cannot migrate live" in pve1.reason
    with pytest.raises(InvalidInput, match="cannot migrate live"):
        backend.migrate(ct1.id, "pve1", MigrationMode.LIVE)
    probe = PingProbe(ct1.ip, seconds=6.0, interval_s=0.01)
    time.sleep(1.0)
    task = wait(backend, backend.migrate(ct1.id, "pve1", MigrationMode.RESTART))
    outage = probe.result()
    assert task.status is TaskStatus.OK, task.error
    moved = backend.inventory().guest(ct1.id)
    assert (moved.node, moved.status) == ("pve1", GuestStatus.RUNNING)
    # down for its stop and start: measurable, and well under the probe window
    assert 0.02 < outage.longest_gap_s < 4.0 and outage.replies > 100, outage
    assert 0 < task.result["downtime_ms"] < 4000

    task = wait(backend, backend.clone(template.id, CloneSpec("ct-web", "pve2")))
    assert task.status is TaskStatus.OK, task.error
    web_id = str(task.result["new_id"])
    assert backend.inventory().guest(web_id).kind is GuestKind.CT
    assert wait(backend, backend.start(web_id)).status is TaskStatus.OK
    mac = _mac(backend.host_named("pve2", containers=True), "ct-web")
    ip = until("ct-web leases an address", lambda: dhcp.lease_of(lab["layout"], mac), 60)
    assert until("ct-web answers", lambda: answers(ip), 30)
    assert wait(backend, backend.shutdown(web_id, timeout=30.0)).status is TaskStatus.OK


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
        if daemon.pid_of(node) is None:  # a failure above: the tests after need pve2
            daemon.start(node)
    # pve2 is two hosts of the profile (its VMs' and its containers' driver): both
    # connections were lost, and both came back (the lab's HA manager says so too, as
    # ha_node_lost and ha_node_online: its events are left out here)
    kinds = [e.kind for e in backend.events() if e.node == "pve2"
             and not e.kind.startswith("ha_")]
    assert sorted(kinds[-4:]) == ["node_lost", "node_lost", "node_online", "node_online"]
    assert kinds[-1] == "node_online"


def test_fail_a_node_from_the_console_and_restore_it(lab):
    backend = open_backend(lab["cluster"])  # the lab's profile: a backend that can fail nodes
    assert isinstance(backend, SupportsFaults) and backend.capabilities.faults
    node = lab["layout"].nodes[1]
    try:
        on_pve2 = until("pve2 online with vm1", lambda: next(
            (i for i in [backend.inventory()] if i.node("pve2").online
             and any(g.name == "vm1" for g in i.guests_on("pve2"))), None), 60)
        vm1 = next(g for g in on_pve2.guests_on("pve2") if g.name == "vm1")
        # the san pool's figures from the target: what its LUNs' sparse files hold
        (san_pve2,) = [s for s in on_pve2.storages if s.name == "san" and s.node == "pve2"]
        assert 0 < san_pve2.used < san_pve2.total == 12 * 256 * 1024**2
        assert until("vm1 answers", lambda: answers("10.77.0.11"), 60)
        # a container runs on pve2 too: the power cut takes it with the VMs
        ct_web = next(g for g in on_pve2.guests_on("pve2") if g.name == "ct-web")
        assert wait(backend, backend.start(ct_web.id)).status is TaskStatus.OK
        ct_mac = _mac(backend.host_named("pve2", containers=True), "ct-web")
        ct_ip = until("ct-web leases", lambda: dhcp.lease_of(lab["layout"], ct_mac), 60)
        assert until("ct-web answers", lambda: answers(ct_ip), 30)
        backend.inject_fault("pve2", FaultKind.POWER_OFF)
        assert cgroups.pids_in("pve2") == set()  # libvirtd, QEMU, libvirt_lxc gone at once
        assert not answers("10.77.0.11")
        assert not answers(ct_ip)
        assert subprocess.run(["pgrep", "-f", "libvirt_lxc.*--name ct-web"]).returncode == 1
        # within one poll (the first may still see the closing connection)
        assert any(backend.inventory().node("pve2").status is NodeStatus.OFFLINE
                   for _ in range(2))
        assert "pve2: 10.77.0.102, netns up, FAILED: lost its power" in "\n".join(
            builder.status(lab["config"]))
        with pytest.raises(BackendError, match="already lost its power"):
            backend.inject_fault("pve2", FaultKind.CUT_NETWORK)
        backend.restore("pve2")
        back = until("pve2 back", lambda: next(
            (i for i in [backend.inventory()] if i.node("pve2").online), None), 60)
        assert back.guest(vm1.id).status is GuestStatus.STOPPED  # a power cut stops guests
        assert wait(backend, backend.start(vm1.id)).status is TaskStatus.OK
        assert until("vm1 answers again", lambda: answers("10.77.0.11"), 90)

        backend.inject_fault("pve2", FaultKind.CUT_NETWORK)
        assert until("pve2 unreachable", lambda: backend.inventory().node("pve2").status
                     is NodeStatus.OFFLINE, 15)
        assert not answers("10.77.0.11", tries=2)
        assert daemon.pid_of(node) is not None  # the node runs on, cut off
        backend.restore("pve2")
        assert until("vm1 answers after the network is back", lambda: answers("10.77.0.11"), 30)
        assert until("pve2 online again", lambda: backend.inventory().node("pve2").online, 30)

        builder.fail("pve1", LabFault.STORAGE, lambda _line: None)
        routes = subprocess.run(["ip", "-n", "vmclab-pve1", "route"], capture_output=True,
                                text=True).stdout
        assert "blackhole 10.77.0.1" in routes
        builder.restore("pve1", lambda _line: None)
        assert "blackhole" not in subprocess.run(["ip", "-n", "vmclab-pve1", "route"],
                                                 capture_output=True, text=True).stdout
        kinds = [e.kind for e in backend.events() if e.node == "pve2"]
        assert {"node_fault", "node_lost", "node_restored"} <= set(kinds)
    finally:
        backend.restore(None)
        backend.close()


async def test_a_storage_fault_shows_in_the_tree_within_one_poll(lab, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # the console's audit log
    web_id = _web_id(lab)  # made from the template: its disk is a LUN of the san
    assert lab["backend"].inventory().guest(web_id).node == "pve1"
    assert wait(lab["backend"], lab["backend"].start(web_id)).status is TaskStatus.OK
    backend = open_backend(lab["cluster"])
    until("both nodes online with san active", lambda: next(
        (i for i in [backend.inventory()] if all(n.online and not n.storage_down
                                                   for n in i.nodes)), None), 60)
    cluster = lab["cluster"].name
    async with live_console(backend) as pilot:
        app = pilot.app
        tree = app.query_one(ClusterTree)
        await wait_until(pilot, lambda: tree.select_ref(TreeRef(cluster, "node/pve1")), 30,
                         "pve1 in the tree")
        tree.focus()
        await pilot.press("f")  # the console's faults, as the admin a local user is
        await wait_until(pilot, lambda: isinstance(app.screen, FaultScreen), 5, "f's menu")
        await pilot.press("down", "down", "down", "enter")  # "Lose shared storage on pve1"
        await wait_until(pilot, lambda: faults.current(lab["layout"].nodes[0])
                         is LabFault.STORAGE, 10, "pve1's storage cut")
        try:
            # the next poll refreshes the pool: libvirt fails to reach the target and
            # stops the pool on pve1, and says why. The console's poll thread reads the
            # same backend meanwhile: the read that refreshes first gets the reason,
            # and the backend keeps it for the reads after. A loaded machine's pve1,
            # with web booting under TCG, may miss a read's timeout (CI saw it offline,
            # its pools unread): such a read, or pve2's, is no answer yet: wait past a timeout.
            def san_on(polled: Inventory, node: str) -> Storage | None:
                return next((s for s in polled.storages if s.name == "san" and s.node == node),
                            None)

            def says_why(polled: Inventory) -> bool:
                san = san_on(polled, "pve1")
                return (san is not None and "Failed to connect" in (san.error or "")
                        and (pve2 := polled.node("pve2")) is not None and pve2.online)

            polled = until("pve1's san down with libvirt's reason", lambda: next(
                (i for i in [backend.inventory()] if says_why(i)), None),
                15 + 2 * lab["cluster"].timeout)
            assert polled.node("pve1").storage_down == ("san",)
            assert polled.node("pve2").storage_down == ()
            pve1_san, pve2_san = san_on(polled, "pve1"), san_on(polled, "pve2")
            assert pve1_san is not None and not pve1_san.active
            assert pve2_san is not None and pve2_san.active
            await wait_until(pilot, lambda: "storage san inactive" in tree_label(app, "pve1"),
                             5 + lab["cluster"].timeout, "the node's storage down in the tree")
            await wait_until(pilot, lambda: "Failed to connect" in detail_rows(app).get(
                "Storage san", ""), 5, "libvirt's reason in the detail pane")
            assert detail_rows(app)["Storage san"].startswith("iscsi-direct, shared: inactive:")
            assert "storage" not in tree_label(app, "pve2")
            # pve1's own san row (Proxmox lists storage under each node) says it too
            assert tree.select_ref(TreeRef(cluster, "storage/pve1/san"))
            await wait_until(pilot, lambda: "Failed to connect" in detail_rows(app).get(
                "State", ""), 5, "the storage row's pane")
            assert detail_rows(app)["State"].startswith("inactive: ")
            assert detail_rows(app)["Scope"] == "shared, as pve1 sees it"
            assert detail_rows(app)["Guests"][:1].isdigit()  # web's disk is a LUN of it
            assert tree.cursor_node.label.plain == "san storage shared inactive"
            assert tree.select_ref(TreeRef(cluster))  # the cluster: where san is not there
            await wait_until(pilot, lambda: "UNAVAILABLE on pve1:" in detail_rows(app).get(
                "Storage san", ""), 5, "the cluster's san row")
            assert detail_rows(app)["Storage san"].startswith(
                "iscsi-direct shared by pve1, pve2, UNAVAILABLE on pve1: ")
            assert tree.select_ref(TreeRef(cluster, web_id))
            await wait_until(pilot, lambda: "on san (san inactive on pve1)" in detail_rows(
                app).get("Disk", ""), 5, "the guest's disk out of its node's reach")
            assert tree.select_ref(TreeRef(cluster, "node/pve1"))
            await pilot.press("f")
            await wait_until(pilot, lambda: isinstance(app.screen, FaultScreen), 5, "f again")
            await pilot.press(*["down"] * 5, "enter")  # "Restore pve1"
            await wait_until(pilot, lambda: faults.current(lab["layout"].nodes[0]) is None,
                             20, "pve1 restored")
        finally:
            builder.restore("pve1", lambda _line: None)
        await wait_until(pilot, lambda: "storage" not in tree_label(app, "pve1"), 10,
                         "pve1's storage back after the restore")
        assert "Storage san" not in detail_rows(app)
    records = [(r.operation, r.target, r.result) for r in AuditLog(default_audit_path()).read()]
    assert ("fault_lose_storage", "pve1", "done") in records
    assert ("restore", "pve1", "done") in records


def _reaches(netns: str, address: str) -> bool:
    """One ping from inside a namespace (a node's, or the LAN's) answered."""
    return subprocess.run(in_netns(netns, "ping", "-n", "-c", "1", "-W", "1", address),
                          capture_output=True).returncode == 0


def test_a_partition_cuts_the_lan_between_groups_and_heals(lab):
    backend = open_backend(lab["cluster"])  # the lab's: f's "Partition the cluster"
    pve1, pve2 = lab["layout"].nodes
    try:
        assert until("pve1 reaches pve2", lambda: _reaches(pve1.netns, pve2.ip), 10)
        backend.partition([["pve1"], ["pve2"]])
        assert not _reaches(pve1.netns, pve2.ip) and not _reaches(pve2.netns, pve1.ip)
        # the target and the probes' namespace still reach both sides
        assert _reaches(pve1.netns, "10.77.0.1") and _reaches(pve2.netns, "10.77.0.1")
        assert until("vm1 answers the LAN's probes", lambda: answers("10.77.0.11"), 30)
        assert all(n.online for n in backend.inventory().nodes)  # the console reaches both
        assert "LAN PARTITIONED: pve1 | pve2" in "\n".join(builder.status(lab["config"]))
        with pytest.raises(BackendError, match="partitioned already"):
            backend.partition([["pve2"], ["pve1"]])
        backend.restore(None)
        assert until("pve1 reaches pve2 again", lambda: _reaches(pve1.netns, pve2.ip), 10)
        assert "PARTITIONED" not in "\n".join(builder.status(lab["config"]))
        assert {"partition", "partition_healed"} <= {e.kind for e in backend.events()}
    finally:
        backend.restore(None)
        backend.close()


def test_lab_guests_report_their_processes_uptime_and_figures_within_their_size(lab):
    backend = lab["backend"]
    first = until("running guests", lambda: [g for g in backend.inventory().guests
                                             if g.running], 30)
    time.sleep(1.5)  # a measurable step between two readings

    def advanced() -> dict[str, Guest] | None:
        # Figures and uptime are read in full every `FULL_READ_S` (docs/libvirt.md,
        # "Full reads and event-driven reads"), not on every poll.
        polled = {g.id: g for g in backend.inventory().guests}
        return polled if all(polled[g.id].uptime != g.uptime for g in first) else None

    second = until("the uptimes read again", advanced, 3 * FULL_READ_S)
    since_up = time.monotonic() - lab["started"]
    for guest in first:
        again = second[guest.id]
        assert "uptime" not in again.unreported, guest.name
        # the age of the guest's QEMU (or libvirt_lxc) process: never older than the lab
        assert 0 < guest.uptime < again.uptime < since_up, (guest.name, guest.uptime)
        assert 1.0 < again.uptime - guest.uptime < 30, guest.name
        assert 0 <= again.metrics.mem <= again.maxmem, guest.name
        assert 0 <= again.disk <= again.maxdisk, guest.name
    stopped = [g for g in second.values() if not g.running]
    assert stopped and all(g.uptime == 0 for g in stopped)


def test_down_leaves_nothing(lab):
    layout = lab["layout"]
    pids = {daemon.pid_of(n) for n in layout.nodes} | {
        p for n in layout.nodes for p in cgroups.pids_in(n.name)}
    san_pid, dhcp_pid = san.pid(layout), dhcp.pid(layout)
    assert san_pid and dhcp_pid
    assert builder.down(lab["config"], lambda _line: None) == []
    assert network.lab_namespaces() == []
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert "veth-pve" not in links and "lanbr0" not in links
    assert not any(daemon.alive(p) for p in pids if p)
    assert cgroups.leftovers() == []
    assert san.leftovers() == [] and dhcp.pid(layout) is None
    assert not any(daemon.alive(p) for p in (san_pid, dhcp_pid) if p)
    assert not layout.root.exists()
    assert "profiles.lab" not in lab["config"].read_text()
