"""The vMotion precondition check on host states vcsim cannot produce (it has no
DisconnectHost and no standby): the rule as vSphere's API states it, on its own."""

from __future__ import annotations

import pytest

from vmconsole.backends.vcenter.migration import HostFacts, refusal, targets

VM_FILES = {"datastore-11": "SAN-01"}


def host(name: str = "esx2", connection: str = "connected", power: str = "poweredOn",
         maintenance: bool = False, datastores: frozenset[str] = frozenset({"datastore-11"})
         ) -> HostFacts:
    return HostFacts(name, connection, power, maintenance, datastores)


@pytest.mark.parametrize(("facts", "reason"), [
    (host(), ""),
    (host(name="esx1"), "the VM is on this host"),
    (host(maintenance=True), "the host is in maintenance mode"),
    (host(connection="notResponding"), "the host is not connected (notResponding, poweredOn)"),
    (host(connection="disconnected"), "the host is not connected (disconnected, poweredOn)"),
    (host(power="standBy"), "the host is not connected (connected, standBy)"),
    (host(datastores=frozenset({"datastore-12"})),
     "datastore not shared with this host: SAN-01"),
])
def test_each_reason_a_host_is_refused(facts: HostFacts, reason: str) -> None:
    assert refusal(facts, "esx1", VM_FILES) == reason


def test_targets_list_every_host_by_name_with_its_reason() -> None:
    listed = targets("esx1", VM_FILES, [host("esx3", maintenance=True), host("esx1"),
                                        host("esx2")])
    assert [(t.node, t.allowed, t.reason) for t in listed] == [
        ("esx1", False, "the VM is on this host"), ("esx2", True, ""),
        ("esx3", False, "the host is in maintenance mode")]


def test_drs_recommendations_are_shown_as_vcenter_words_them() -> None:
    """vcsim makes no DRS recommendation: the reading and the words are tested on
    vSphere's own objects (ClusterRecommendation), the empty case against vcsim."""
    from pyVmomi import vim

    from vmconsole.backends.vcenter.inventory import cluster_config
    from vmconsole.model import Inventory
    from vmconsole.model.containers import Container
    from vmconsole.ui import vsphere_text
    from vmconsole.ui.cluster_summary import container_rows

    pending = [vim.cluster.Recommendation(key="1", type="migrate", rating=2, reason="x",
                                          reasonText="Balance average memory loads."),
               vim.cluster.Recommendation(key="2", type="migrate", rating=5, reason="y",
                                          reasonText="Fix a host in maintenance\u202e")]
    drs = vim.cluster.DrsConfigInfo(enabled=True, defaultVmBehavior="manual")
    config = cluster_config(vim.cluster.ConfigInfoEx(drsConfig=drs), pending)
    assert config.drs_recommendations == ("rating 5 of 5: Fix a host in maintenance\u202e",
                                          "rating 2 of 5: Balance average memory loads.")
    cluster = Container("container/domain-c7", "C7", "vSphere cluster", vsphere=config)
    rows = dict(container_rows(cluster, Inventory("vc", (), (), containers=(cluster,))))
    assert str(rows["Recommendations"]) == (
        "rating 5 of 5: Fix a host in maintenance\\u202e; rating 2 of 5: Balance average "
        "memory loads.")
    assert rows["DRS"].startswith("on (manual: recommends")
    assert vsphere_text.cluster_summary(config, 3).endswith("; 2 DRS recommendations")
