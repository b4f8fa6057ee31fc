"""The cluster as the console sees it, from fakepve's /cluster/resources, /cluster/status
and the HA manager."""

from __future__ import annotations

import time

import pytest

from vmconsole.backends.base import BackendError, InvalidInput, Unreachable
from vmconsole.backends.proxmox.inventory import RateTracker, build_inventory, ha_view
from vmconsole.model import GuestKind, GuestStatus, HARequest, HAState, NodeHAState, NodeStatus


def test_inventory_shows_nodes_guests_templates_and_storage(backend):
    inv = backend.inventory()
    assert len({g.id for g in inv.guests}) == len(inv.guests)  # kind/vmid: unique
    assert inv.cluster == "lab"
    assert [n.name for n in inv.nodes] == ["pve1", "pve2", "pve3"]
    assert all(n.status is NodeStatus.ONLINE for n in inv.nodes)
    assert inv.node("pve2").address == "192.0.2.12"
    web = inv.guest("qemu/100")
    assert (web.name, web.kind, web.node, web.status, web.vmid) == (
        "web", GuestKind.VM, "pve1", GuestStatus.RUNNING, 100)
    assert web.maxcpu == 2 and web.maxmem == 1024 * 2**20 and web.tags == ("prod", "web")
    assert inv.guest("qemu/9000").template
    dns = inv.guest("lxc/201")
    assert (dns.kind, dns.node, dns.status) == (GuestKind.CT, "pve3", GuestStatus.STOPPED)
    # Shared storage once for the cluster, local storage once per node.
    ceph = [s for s in inv.storages if s.name == "ceph"]
    assert len(ceph) == 1 and ceph[0].shared and ceph[0].node is None
    assert {s.node for s in inv.storages if s.name == "local-lvm"} == {"pve1", "pve2", "pve3"}
    assert inv.quorum.quorate and (inv.quorum.votes, inv.quorum.expected) == (3, 3)


def test_rates_come_from_successive_samples_of_cumulative_counters(backend, fakepve):
    fakepve.set(guest=100, stats={"netin": 1_000_000, "diskwrite": 0})
    # Each read stamps its sample with the wall clock (time.time()) while it runs.
    first_asked = time.time()
    first = backend.inventory().guest("qemu/100")
    first_read = time.time()
    assert first.metrics.net_in == 0.0  # one sample is no rate yet
    time.sleep(0.5)  # the time between two samples (rates need it): nothing is awaited
    fakepve.set(guest=100, stats={"netin": 3_000_000, "diskwrite": 500_000})
    second_asked = time.time()
    second = backend.inventory().guest("qemu/100")
    second_read = time.time()
    # 2 MB over the time between the samples, however long a busy machine made it; disk
    # a quarter of that over the same interval.
    assert 2_000_000 / (second_read - first_asked) <= second.metrics.net_in \
        <= 2_000_000 / (second_asked - first_read)
    assert second.metrics.disk_write == pytest.approx(second.metrics.net_in / 4, rel=0.01)


def test_lost_quorum_shows_and_refuses_changes(backend, fakepve):
    fakepve.call("lose_quorum")
    inv = backend.inventory()
    assert not inv.quorum.quorate
    assert [e.kind for e in backend.events()] == ["quorum_lost"]
    with pytest.raises(BackendError, match="no quorum"):
        backend.start("qemu/101")
    fakepve.call("regain_quorum")
    assert backend.inventory().quorum.quorate
    assert backend.events()[-1].kind == "quorum_regained"


def test_an_offline_node_shows_offline_and_its_guests_unknown(backend, fakepve):
    backend.inventory()
    fakepve.call("set_node_offline", "pve3")
    inv = backend.inventory()
    assert inv.node("pve3").status is NodeStatus.OFFLINE
    assert inv.guest("lxc/201").status is GuestStatus.UNKNOWN
    assert inv.quorum.votes == 2 and inv.quorum.quorate
    lost = [e for e in backend.events() if e.kind == "node_lost"]
    assert [e.node for e in lost] == ["pve3"]
    # An action on it fails as PVE's proxy reports it, without waiting for a timeout.
    started = time.monotonic()
    with pytest.raises(Unreachable, match="No route to host"):
        backend.start("lxc/201")
    assert time.monotonic() - started < 1.0


def test_ha_states_from_the_resources_list(backend, fakepve):
    fakepve.set(guest=100, ha_state="started")
    fakepve.set(guest=200, ha_state="fence")
    inv = backend.inventory()
    assert inv.guest("qemu/100").ha.state is HAState.STARTED
    assert inv.guest("lxc/200").ha.state is HAState.FENCE
    assert inv.guest("qemu/101").ha is None


# Every state pve-ha-manager has (Manager.pm's and Tools.pm's verbose ones), and one it
# may have some day: each is shown as the manager says it, never replaced by another.
PVE_HA_STATES = ["started", "stopped", "disabled", "ignored", "request_start",
                 "request_start_balance", "request_stop", "freeze", "fence", "recovery",
                 "migrate", "relocate", "error", "queued", "starting", "stopping", "deleting",
                 "not found", "clearing error flag"]


@pytest.mark.parametrize("state", [*PVE_HA_STATES, "some_future_state"])
def test_every_ha_state_is_shown_as_the_manager_says_it(backend, fakepve, state):
    fakepve.set(guest=100, ha_state=state)
    ha = backend.inventory().guest("qemu/100").ha
    assert ha is not None and ha.state == state and str(ha.state) == state
    assert isinstance(ha.state, HAState) == (state in PVE_HA_STATES)
    assert ha.request is HARequest.STARTED  # what was asked stays apart from the state


def test_node_states_come_from_the_crm_where_it_says_them():
    resources = [{"type": "node", "node": n, "status": "online"} for n in ("a", "b", "c", "d")]
    status = [{"type": "lrm", "node": "a", "status": "a (active, Mon Nov 21 07:23:22 2016)"},
              {"type": "lrm", "node": "d", "status": "d (old timestamp - dead?, ...)"}]
    manager = {"manager_status": {"node_status": {"a": "maintenance", "b": "fence",
                                                  "c": "being_repaired"}}}
    inv = build_inventory("pve", 0.0, resources, status, ha_view(status, [], manager),
                          RateTracker())
    states = {n.name: n.ha_state for n in inv.nodes}
    assert states == {"a": NodeHAState.MAINTENANCE, "b": NodeHAState.FENCE,
                      "c": "being_repaired", "d": NodeHAState.UNKNOWN}


def test_history_asks_rrddata_and_refuses_an_unknown_timeframe(backend, fakepve):
    # fakepve answers rrddata with one empty row (no samples yet): nothing to plot.
    assert backend.history("qemu/100", "hour") == []
    assert backend.history("node/pve1", "week") == []
    asked = [path for m, path, _ in fakepve.send("get", name="requests") if "rrddata" in path]
    assert asked == ["/api2/json/nodes/pve1/qemu/100/rrddata", "/api2/json/nodes/pve1/rrddata"]
    with pytest.raises(InvalidInput):
        backend.history("qemu/100", "decade")
