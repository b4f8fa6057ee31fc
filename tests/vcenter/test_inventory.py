"""The inventory as vcsim's vCenter reports it, in one PropertyCollector read per poll."""

from __future__ import annotations

import time

import pytest

from vmconsole.backends.vcenter import VCenterBackend
from vmconsole.model import GuestKind, GuestStatus, NodeStatus

# Two datacenters, each with a vSphere cluster of three hosts and a standalone host.
VCSIM_ARGS = ("-vm", "3", "-dc", "2", "-standalone-host", "1")
CLUSTERED = ["DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"]


def test_datacenters_hold_vsphere_clusters_and_standalone_hosts(
        backend: VCenterBackend) -> None:
    inventory = backend.inventory()
    by_name = {c.name: c for c in inventory.containers}
    assert [(c.name, c.kind) for c in inventory.containers] == [
        ("DC0", "datacenter"), ("DC1", "datacenter"),
        ("DC0_C0", "vSphere cluster"), ("DC1_C0", "vSphere cluster")]
    for dc in ("DC0", "DC1"):
        datacenter, cluster = by_name[dc], by_name[f"{dc}_C0"]
        assert datacenter.parent is None and datacenter.vsphere is None
        assert cluster.parent == datacenter.id and cluster.vsphere is not None
        assert [n.name for n in inventory.nodes_under(cluster.id)] == [
            f"{dc}_C0_H{i}" for i in range(3)]
        # The standalone host stands in its datacenter, in no vSphere cluster.
        assert inventory.node(f"{dc}_H0").container == datacenter.id
        assert len(inventory.nodes_under(datacenter.id)) == 4
    # A standalone host's VMs have no vSphere HA: HA works in a cluster.
    standalone = [g for g in inventory.guests if g.node == "DC0_H0"]
    assert len(standalone) == 3 and all(g.ha is None for g in standalone)


def test_hosts_of_the_cluster_are_the_nodes(backend: VCenterBackend) -> None:
    inventory = backend.inventory()
    assert [n.name for n in inventory.nodes if n.name.startswith("DC0_C0")] == CLUSTERED
    for node in inventory.nodes:
        assert node.status is NodeStatus.ONLINE
        assert node.maxcpu > 0 and node.maxmem > 0
        # Hosts report quick stats in vcsim: CPU as a fraction of cores x MHz, memory used.
        assert 0 < node.metrics.cpu < 1 and 0 < node.metrics.mem < node.maxmem
        assert node.ha_state is None  # vcsim reports no vSphere HA agent state
    assert inventory.quorum is None  # vCenter has no quorum to show


def test_vms_are_guests_with_managed_object_ids(backend: VCenterBackend) -> None:
    inventory = backend.inventory()
    assert len(inventory.guests) == 12  # 3 in each cluster's pool and standalone host
    nodes = {n.name for n in inventory.nodes}
    for guest in inventory.guests:
        assert guest.id.startswith("vm-") and guest.id[3:].isdigit()
        # Named after their resource pool (DC0_C0_RP0_VM1) or standalone host (DC0_H0_VM1)
        pool = guest.name.rsplit("_", 1)[0]
        assert guest.node.startswith(pool.removesuffix("_RP0"))
        assert guest.kind is GuestKind.VM and guest.vmid is None
        assert guest.node in nodes
        assert guest.status is GuestStatus.RUNNING
        assert guest.maxcpu == 1 and guest.maxmem == 32 * 2**20
        assert guest.storages == ("LocalDS_0",)
        assert not guest.template and guest.ha is None
    assert len({g.id for g in inventory.guests}) == 12


def test_figures_vcenter_does_not_report_are_absent_not_zero(
        backend: VCenterBackend) -> None:
    from vmconsole.ui.cluster_summary import node_rows
    from vmconsole.ui.guest_summary import guest_rows
    from vmconsole.ui.styles import LabelStyles
    from vmconsole.ui.symbols import UNICODE

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
    assert [s.name for s in inventory.storages] == ["LocalDS_0", "LocalDS_0"]  # a DC each
    for storage in inventory.storages:
        assert storage.total > storage.used > 0
        # Mounted on every host of its datacenter: shared, not one host's local storage.
        assert storage.shared and storage.node is None
    cluster = next(c for c in inventory.containers if c.name == "DC0_C0")
    assert cluster.vsphere is not None
    assert cluster.vsphere.drs_enabled is True  # vcsim's clusters have DRS on
    # vcsim sets no vSphere HA, no DRS automation level and no default priority: absent.
    assert cluster.vsphere.ha_enabled is None
    assert cluster.vsphere.drs_behavior is None
    assert cluster.vsphere.default_restart_priority is None


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
    from vmconsole.ui.cluster_summary import cluster_rows

    inventory = backend.inventory()
    rows = dict(cluster_rows("vc", inventory, None))
    for name in ("DC0_C0", "DC1_C0"):
        assert str(rows[f"vSphere cluster {name}"]) == (
            "3 hosts; vSphere HA not reported by vCenter; DRS on")
    assert rows["Quorum"] == "-" and rows["Nodes"] == "8 online of 8"


def test_a_poll_is_one_collector_call_whatever_the_number_of_vms(
        backend: VCenterBackend, monkeypatch) -> None:
    """Every SOAP request of a poll, counted where pyVmomi sends it: the same single
    RetrievePropertiesEx for the 12 VMs here as for one (never a read per VM)."""
    from pyVmomi.SoapAdapter import SoapStubAdapter

    sent: list[str] = []
    invoke = SoapStubAdapter.InvokeMethod

    def counted(self, mo, info, args, outerStub=None):
        sent.append(info.wsdlName)
        return invoke(self, mo, info, args, outerStub)

    backend.inventory()  # the first poll makes the session's ContainerView
    monkeypatch.setattr(SoapStubAdapter, "InvokeMethod", counted)
    inventory = backend.inventory()
    assert len(inventory.guests) == 12 and len(inventory.containers) == 4
    assert sent == ["RetrievePropertiesEx"]


def test_the_ip_address_vmware_tools_reports_is_shown(backend: VCenterBackend) -> None:
    """vcsim takes a guest's address as VMware Tools would report it through the VM's
    extra config key SET.guest.ipAddress (govmomi's simulator, applyExtraConfig)."""
    from pyVmomi import vim

    inventory = backend.inventory()
    guest = inventory.guests[0]
    assert guest.ip is None  # vcsim's VMs report none until told
    address = "192.0.2.10"  # TEST-NET-1: a documentation address, never probed here

    def report(content) -> object:
        ref = vim.VirtualMachine(guest.id, content.rootFolder._stub)
        spec = vim.vm.ConfigSpec(extraConfig=[vim.option.OptionValue(
            key="SET.guest.ipAddress", value=address)])
        return ref.ReconfigVM_Task(spec)

    task = backend.session.call("report an address", report)
    deadline = time.monotonic() + 20
    while backend.inventory().guest(guest.id).ip != address and time.monotonic() < deadline:
        time.sleep(0.1)
    assert task is not None and backend.inventory().guest(guest.id).ip == address


def test_a_host_without_the_vms_datastore_is_refused_with_the_reason(
        backend: VCenterBackend) -> None:
    """Each datacenter has its own LocalDS_0: a VM of DC0 may not go to a DC1 host,
    although the names match (datastores are compared by id)."""
    from vmconsole.backends.base import Conflict, MigrationMode

    inventory = backend.inventory()
    guest = next(g for g in inventory.guests if g.node.startswith("DC0_C0"))
    targets = {t.node: t for t in backend.migration_targets(guest.id)}
    for host in ("DC1_C0_H0", "DC1_H0"):
        assert not targets[host].allowed
        assert targets[host].reason == "datastore not shared with this host: LocalDS_0"
    assert targets["DC0_H0"].allowed  # the same datastore, in the same datacenter
    with pytest.raises(Conflict, match="datastore not shared with this host: LocalDS_0"):
        backend.migrate(guest.id, "DC1_C0_H0", MigrationMode.LIVE)
    assert backend.inventory().guest(guest.id).node == guest.node


def test_vsphere_ha_is_refused_for_a_vm_on_a_standalone_host(backend: VCenterBackend) -> None:
    from vmconsole.backends.base import Conflict
    from vmconsole.backends.ha_config import HASettings
    from vmconsole.model import RestartPriority

    guest = next(g for g in backend.inventory().guests if g.node == "DC0_H0")
    with pytest.raises(Conflict, match="runs on a standalone host: vSphere HA works in a "
                                       "cluster"):
        backend.ha_set(guest.id, HASettings(restart_priority=RestartPriority.HIGH))
    assert backend.inventory().guest(guest.id).ha is None
