import time

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from vmconsole.backends.abilities import SupportsEvents
from vmconsole.backends.base import Backend
from vmconsole.backends.libvirt.connection import name_from_uri
from vmconsole.model import GuestKind, GuestStatus, NodeStatus

from .conftest import guest_named, until_heard


def test_the_backend_implements_the_protocol(cluster):
    assert isinstance(cluster, Backend)
    assert isinstance(cluster, SupportsEvents)
    assert cluster.capabilities.linked_clone and not cluster.capabilities.vmids


def test_nodes_are_the_hosts_with_their_figures(cluster):
    inv = cluster.inventory()
    assert [(n.name, n.status, n.maxcpu, n.maxmem) for n in inv.nodes] == [
        ("pve1", NodeStatus.ONLINE, 4, 8 * 1024**3),
        ("pve2", NodeStatus.ONLINE, 2, 2 * 1024**3),
    ]
    assert inv.cluster == "kvm"


def test_guests_with_ids_statuses_and_sizes(cluster):
    inv = cluster.inventory()
    by_name = {g.name: g for g in inv.guests}
    assert set(by_name) == {"web1", "db1", "idle1", "tmpl-debian", "app2"}
    web = by_name["web1"]
    assert web.id == "vm/11111111-0000-4000-8000-000000000001"
    assert (web.kind, web.node, web.status, web.maxcpu, web.maxmem) == (
        GuestKind.VM, "pve1", GuestStatus.RUNNING, 2, 1024**3)
    assert web.storages == ("pool1",)
    assert by_name["idle1"].status is GuestStatus.STOPPED
    assert by_name["tmpl-debian"].template and not web.template
    assert by_name["app2"].node == "pve2"
    assert {s.id for s in inv.storages} == {"storage/pve1/pool1", "storage/pve2/pool2"}


def test_rates_come_from_successive_samples(cluster):
    guest_named(cluster, "web1")
    time.sleep(0.2)  # the time between two samples (rates need it): nothing is awaited
    second = guest_named(cluster, "web1")
    assert 0.0 < second.metrics.cpu <= 1.0
    assert second.metrics.net_in > 0 and second.metrics.disk_read > 0
    assert guest_named(cluster, "idle1").metrics.cpu == 0.0


def test_a_shut_off_domain_is_the_same_guest_object_from_poll_to_poll(cluster):
    # What lets the poller's diff and history skip 2,000 idle domains by identity: it
    # must hold through the whole backend, the address merge included.
    cluster.inventory()
    before = guest_named(cluster, "idle1")
    after = guest_named(cluster, "idle1")
    assert after is before and after.address_note == "stopped"
    running = guest_named(cluster, "web1")
    cluster.hosts[0].call(lambda c: c.lookupByName("web1").suspend(), "pausing web1")
    until_heard(cluster, "web1 paused on pve1")
    paused = guest_named(cluster, "web1")  # its event named it: read again, a new Guest
    assert paused is not running and paused.status is GuestStatus.PAUSED


def test_node_names_from_uris():
    assert name_from_uri("test:///srv/fixtures/pve7.xml") == "pve7"
    assert name_from_uri("qemu+ssh://root@kvm1.example.org/system") == "kvm1.example.org"
    sock = "qemu:///system?socket=/var/lib/vmconsole-lab/nodes/pve2/run/libvirt-sock"
    assert name_from_uri(sock) == "pve2"


def test_lifecycle_events_reach_the_log_and_the_change_callback(cluster):
    calls = []
    cluster.set_change_callback(lambda: calls.append(1))
    idle = guest_named(cluster, "idle1")
    seen = cluster.events()[-1].seq if cluster.events() else 0
    cluster.start(idle.id)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(
            e.kind == "guest_started" for e in cluster.events(seen)):
        time.sleep(0.01)
    started = [e for e in cluster.events(seen) if e.kind == "guest_started"]
    assert started and started[0].guest == idle.id and started[0].node == "pve1"
    assert "idle1 started on pve1" in started[0].message
    assert calls
    assert guest_named(cluster, "idle1").status is GuestStatus.RUNNING


def test_a_remote_or_test_hosts_guests_have_no_uptime_figure(cluster):
    # libvirt's API has no start time for a domain; only a local host's pid files do
    web = guest_named(cluster, "web1")
    assert web.status is GuestStatus.RUNNING
    assert "uptime" in web.unreported and web.uptime == 0.0
    from vmconsole.ui.guest_summary import guest_rows
    from vmconsole.ui.styles import LabelStyles
    from vmconsole.ui.symbols import UNICODE

    rows = dict(guest_rows(web, cluster.inventory(), UNICODE, LabelStyles.from_variables({})))
    assert rows["Uptime"] == ("not reported: libvirt's test driver runs no process per "
                              "guest to read it from")


def test_a_disk_whose_size_no_call_read_says_so_not_zero(cluster):
    # The test driver's domains have disks, but its stats give no block capacity (the
    # per-domain calls read none): "0 B of 0 B" read as empty disks.
    from vmconsole.ui.guest_summary import guest_rows
    from vmconsole.ui.styles import LabelStyles
    from vmconsole.ui.symbols import UNICODE

    inventory = cluster.inventory()
    for name in ("web1", "tmpl-debian"):  # running, and stopped
        guest = guest_named(cluster, name)
        assert "disk" in guest.unreported
        rows = dict(guest_rows(guest, inventory, UNICODE, LabelStyles.from_variables({})))
        assert rows["Disk"] == "size not reported on pool1"
    assert "disk" not in guest_named(cluster, "idle1").unreported  # it has no disk


def test_an_inactive_shared_pool_is_the_nodes_storage_down(cluster):
    conn = cluster.host_named("pve1").connection()
    pool = conn.storagePoolDefineXML(
        "<pool type='netfs'><name>nfs1</name><source><host name='nas'/><dir path='/x'/>"
        "<format type='nfs'/></source><target><path>/mnt/nfs1</path></target></pool>", 0)
    pool.create(0)
    cluster.checked_pools = frozenset({"nfs1"})  # refreshed on every read: it answers
    inv = cluster.inventory()
    (nfs,) = [s for s in inv.storages if s.name == "nfs1"]
    assert nfs.shared and nfs.active and nfs.error is None
    assert inv.node("pve1").storage_down == ()
    pool.destroy()
    inv = cluster.inventory()
    assert inv.node("pve1").storage_down == ("nfs1",)
    assert inv.node("pve2").storage_down == ()
    assert not next(s for s in inv.storages if s.name == "nfs1").active


def test_a_paused_guest_says_why_in_the_tree_and_the_pane(cluster):
    import libvirt

    from vmconsole.backends.libvirt.stats import paused_because
    from vmconsole.ui.guest_summary import guest_rows
    from vmconsole.ui.labels import guest_label
    from vmconsole.ui.styles import LabelStyles
    from vmconsole.ui.symbols import UNICODE

    # what a disk with error_policy="stop" that got an error does (no driver at hand
    # makes one on demand: docs/lab.md says why the lab cannot)
    assert paused_because(libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_IOERROR) == (
        "I/O error")
    assert paused_because(libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_PAUSED_IOERROR) is None
    host, dom = cluster.locate(guest_named(cluster, "web1").id)
    host.call(lambda _c: dom.suspend(), "pausing web1")
    until_heard(cluster, "web1 paused on pve1")
    web = guest_named(cluster, "web1")
    assert (web.status, web.status_reason) == (GuestStatus.PAUSED, "by the user")
    styles = LabelStyles.from_variables({})
    assert str(guest_label(web, UNICODE, styles)).endswith("web1 vm paused (by the user)")
    rows = dict(guest_rows(web, cluster.inventory(), UNICODE, styles))
    assert rows["Status"] == "paused (by the user)"
    # libvirt refuses an offline migration of an active domain: the migrate form and a
    # bulk migration offer a paused one live
    from vmconsole.backends.base import MigrationMode
    from vmconsole.placement import migration_mode
    assert migration_mode(web) is MigrationMode.LIVE
