"""A machine listed twice in a profile (its VMs' qemu:// and its containers' lxc://
host) is one node in the tree."""

from vmconsole.backends.libvirt.nodes import merge_nodes
from vmconsole.model import Metrics, Node, NodeStatus


def test_a_node_of_two_hosts_is_online_only_when_both_answer():
    vms = Node("pve1", NodeStatus.ONLINE, 2, 4096, metrics=Metrics(cpu=0.5))
    cts_lost = Node("pve1", NodeStatus.OFFLINE, 0, 0, address="lxc+tcp://pve1/",
                    error="no answer within 10 s", since=1000.0, next_try=1004.0)
    other = Node("pve2", NodeStatus.ONLINE, 2, 4096)
    merged = merge_nodes([vms, other, cts_lost])
    assert [(n.name, n.status) for n in merged] == [("pve1", NodeStatus.OFFLINE),
                                                    ("pve2", NodeStatus.ONLINE)]
    # the figures of the host that answered, not the blank ones of the lost host
    assert (merged[0].maxcpu, merged[0].metrics.cpu) == (2, 0.5)
    # and why it is offline, the lost host's (the detail pane's "Error", "Since")
    assert (merged[0].address, merged[0].error, merged[0].since, merged[0].next_try) == (
        "lxc+tcp://pve1/", "no answer within 10 s", 1000.0, 1004.0)
    both = merge_nodes([vms, Node("pve1", NodeStatus.ONLINE, 2, 4096)])
    assert both == (vms,)


def test_a_node_has_lost_a_storage_that_any_of_its_hosts_found_down():
    vms = Node("pve1", NodeStatus.ONLINE, 2, 4096, storage_down=("san",))
    cts = Node("pve1", NodeStatus.ONLINE, 2, 4096)
    assert merge_nodes([cts, vms])[0].storage_down == ("san",)
    assert merge_nodes([vms, cts])[0].storage_down == ("san",)
    assert merge_nodes([cts, cts])[0].storage_down == ()
