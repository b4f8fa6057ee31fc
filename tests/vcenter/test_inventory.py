"""The inventory as vcsim's vCenter reports it, in one PropertyCollector read per poll."""

from __future__ import annotations

import pytest

from vmconsole.backends.vcenter import VCenterBackend
from vmconsole.model import GuestKind, GuestStatus, NodeStatus

VCSIM_ARGS = ("-vm", "3")


def test_hosts_of_the_cluster_are_the_nodes(backend: VCenterBackend) -> None:
    inventory = backend.inventory()
    assert [n.name for n in inventory.nodes] == ["DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"]
    for node in inventory.nodes:
        assert node.status is NodeStatus.ONLINE
        assert node.maxcpu > 0 and node.maxmem > 0
        # Hosts report quick stats in vcsim: CPU as a fraction of cores x MHz, memory used.
        assert 0 < node.metrics.cpu < 1 and 0 < node.metrics.mem < node.maxmem
        assert node.ha_state is None  # vcsim reports no vSphere HA agent state
    assert inventory.quorum is None  # vCenter has no quorum to show


def test_vms_are_guests_with_managed_object_ids(backend: VCenterBackend) -> None:
    inventory = backend.inventory()
    assert len(inventory.guests) == 3
    nodes = {n.name for n in inventory.nodes}
    for guest in inventory.guests:
        assert guest.id.startswith("vm-") and guest.id[3:].isdigit()
        assert guest.name.startswith("DC0_C0_RP0_VM")
        assert guest.kind is GuestKind.VM and guest.vmid is None
        assert guest.node in nodes
        assert guest.status is GuestStatus.RUNNING
        assert guest.maxcpu == 1 and guest.maxmem == 32 * 2**20
        assert guest.storages == ("LocalDS_0",)
        assert not guest.template and guest.ha is None
    assert len({g.id for g in inventory.guests}) == 3


def test_figures_vcenter_does_not_report_are_absent_not_zero(
        backend: VCenterBackend) -> None:
    from vmconsole.ui.styles import LabelStyles
    from vmconsole.ui.symbols import UNICODE
    from vmconsole.ui.widgets.detail_pane import guest_rows, node_rows

    styles = LabelStyles.from_variables({})

    inventory = backend.inventory()
    guest, node = inventory.guests[0], inventory.nodes[0]
    # vcsim leaves every VM's quick stats unset; no quick stats carry I/O rates.
    assert {"cpu", "mem", "uptime", "net_in", "disk_read"} <= set(guest.unreported)
    rows = dict(guest_rows(guest, inventory, UNICODE, styles))
    assert rows["Memory"] == "not reported of 32.0 MiB"
    assert rows["vCPUs"] == "1  (not reported used)"
    assert rows["Network"] == "not reported" and rows["Uptime"] == "not reported"
    # Hosts do report CPU and memory in vcsim, but no load average.
    assert "cpu" not in node.unreported and "mem" not in node.unreported
    rows = dict(node_rows(node, inventory, UNICODE, styles))
    assert rows["Load"] == "not reported" and "%" in str(rows["CPU"])


def test_datastores_and_cluster_settings(backend: VCenterBackend) -> None:
    inventory = backend.inventory()
    assert {s.name for s in inventory.storages} == {"LocalDS_0"}
    for storage in inventory.storages:
        assert storage.total > storage.used > 0
    (cluster,) = backend.clusters()
    assert cluster.name == "DC0_C0"
    assert cluster.hosts == ("DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2")
    assert cluster.drs_enabled is True
    assert cluster.ha_enabled is None  # vcsim does not report vSphere HA: absent, not off


@pytest.mark.parametrize("timeframe", ["hour", "day"])
def test_history_from_the_performance_manager(backend: VCenterBackend, timeframe: str) -> None:
    inventory = backend.inventory()
    guest, node = inventory.guests[0], inventory.nodes[0]
    for object_id, maxmem in ((guest.id, guest.maxmem), (node.id, node.maxmem)):
        samples = backend.history(object_id, timeframe)
        assert len(samples) > 10
        assert [s.time for s in samples] == sorted(s.time for s in samples)
        assert all(s.maxmem == maxmem for s in samples)
        assert any(s.cpu > 0 for s in samples) and any(s.net_in > 0 for s in samples)


def test_history_refuses_an_unknown_timeframe(backend: VCenterBackend) -> None:
    from vmconsole.backends.base import InvalidInput

    with pytest.raises(InvalidInput):
        backend.history("vm-1", "year")


def test_the_cluster_pane_shows_each_vsphere_clusters_ha_and_drs(
        backend: VCenterBackend) -> None:
    from vmconsole.ui.widgets.detail_pane import cluster_rows

    inventory = backend.inventory()
    rows = dict(cluster_rows("vc", inventory, None, backend.cluster_facts()))
    assert str(rows["vSphere cluster DC0_C0"]) == (
        "3 hosts; vSphere HA not reported; DRS on")
    assert rows["Quorum"] == "-" and rows["Nodes"] == "3 online of 3"
