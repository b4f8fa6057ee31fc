import time

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

from vmconsole.backends.base import Backend, SupportsEvents
from vmconsole.backends.libvirt.connection import name_from_uri
from vmconsole.model import GuestKind, GuestStatus, NodeStatus

from .conftest import guest_named


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
    time.sleep(0.2)
    second = guest_named(cluster, "web1")
    assert 0.0 < second.metrics.cpu <= 1.0
    assert second.metrics.net_in > 0 and second.metrics.disk_read > 0
    assert guest_named(cluster, "idle1").metrics.cpu == 0.0


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
