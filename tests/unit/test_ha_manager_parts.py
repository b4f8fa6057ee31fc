"""The HA manager's parts that need no cluster: its rules (shared with the simulator),
its `ha` config table, its status file, its fence command and `ha status`'s lines."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from vmconsole.config import ConfigError, load_config
from vmconsole.ha import quorum, rules
from vmconsole.ha.fencing import CommandFence
from vmconsole.ha.probe import from_config
from vmconsole.ha.report import status_lines
from vmconsole.ha.status import (
    Decision,
    ManagerStatus,
    ManagerTask,
    NodeRecord,
    ServiceRecord,
    read_status,
    write_status,
)

NODES = [rules.NodeView("pve1", 0, None, 2, 0.5), rules.NodeView("pve2", 1, None, 1, 0.9),
         rules.NodeView("pve3", 2, "offline")]


def test_quorum_is_a_strict_majority():
    assert quorum.quorate(2, 3) and not quorum.quorate(1, 3)
    assert not quorum.quorate(1, 2)  # two nodes: a half is no majority (split brain)
    assert quorum.quorate(2, 3)  # two nodes and a quorum device's vote


def test_the_fence_delay_counts_from_the_last_round_that_saw_the_node():
    assert not rules.offline_delayed(100.0, 159.9, 60.0)
    assert rules.offline_delayed(100.0, 160.0, 60.0)


def test_placement_prefers_fewer_ha_services_then_less_memory_and_says_why_not():
    picked = rules.select_service_node(NODES, rules.Preferences())
    assert [c.node for c in picked] == ["pve2", "pve1", "pve3"]
    assert picked[0].reason == "chosen" and picked[2].reason == "offline"
    assert rules.chosen(picked) == "pve2"
    assert rules.explain(picked) == ("candidates: pve2 (1 HA services, memory 90%) chosen; "
                                     "pve1 (2 HA services, memory 50%); pve3 out: offline")


def test_node_affinity_and_resource_affinity_narrow_the_choice():
    prefs = rules.Preferences({"pve1": 2, "pve2": 1}, False, "web")
    picked = rules.select_service_node(NODES, prefs)
    assert rules.chosen(picked) == "pve1"
    assert ("pve2", "web: priority 1 < 2") in [(c.node, c.reason) for c in picked]
    apart = rules.select_service_node(NODES, rules.Preferences(), apart={"pve2": "r1"})
    assert rules.chosen(apart) == "pve1"
    strict = rules.select_service_node(NODES, rules.Preferences({"pve3": 1}, True, "db"))
    assert rules.chosen(strict) is None
    assert "db is restricted (strict) to pve3" in rules.explain(strict)


def test_node_lists_read_as_proxmox_reads_them():
    assert rules.node_priorities(["pve1:2", " pve2", "pve3:10"]) == {
        "pve1": 2, "pve2": 0, "pve3": 10}
    for bad in ("pve1:", "pve1:-1", "pve1:x", ":2", "pve1:²"):
        with pytest.raises(ValueError, match="is not <node>"):
            rules.node_priorities([bad])
    from vmconsole.ui.modals.validate import node_names

    assert node_names("pve1:2, pve2", ["pve1", "pve2"]) is None
    assert node_names("pve1:2,pve9:1", ["pve1", "pve2"]) == "no node pve9 in this cluster"
    assert node_names("pve1:high", ["pve1"]) == ("'pve1:high' is not <node>[:<priority>]: "
                                                 "a priority is a whole number from 0 to "
                                                 "1000 (pve2:2; the higher, the more preferred)")
    # -1 is a whole number: the reason names the range it is outside (the tester's finding)
    assert "from 0 to 1000" in (node_names("pve1:-1", ["pve1"]) or "")
    # past the top, as the web interface's priority field refuses (a tester typed 20 digits)
    assert node_names("pve1:1000", ["pve1"]) is None
    assert node_names("pve1:99999999999999999999", ["pve1"]) == (
        "'pve1:99999999999999999999': a priority is a whole number from 0 to 1000 "
        "(pve2:2; the higher, the more preferred)")


def _write(tmp_path: Path, table: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[[profiles.p.clusters]]\nkind = "libvirt"\nname = "c"\n'
                    f'uris = ["test:///default"]\n{table}')
    return path


def test_the_ha_table_defaults_to_proxmox_timings_and_requires_a_fence(tmp_path):
    path = _write(tmp_path, '[profiles.p.clusters.ha]\nfence_command = ["fence_virsh", '
                  '"--plug", "{node}"]\n')
    (cluster,) = load_config(path).clusters("p")
    ha = cluster.ha
    assert (ha.round, ha.fence_delay, ha.lock_lease, ha.fence) == (10.0, 60.0, 0.0, "command")
    assert ha.fence_command == ("fence_virsh", "--plug", "{node}")
    with pytest.raises(ConfigError, match="needs a fence_command") as err:
        load_config(_write(tmp_path, "[profiles.p.clusters.ha]\nround = 2\n"))
    assert err.value.line == 5
    with pytest.raises(ConfigError, match=r"0\.1 to 3600 seconds"):
        load_config(_write(tmp_path, '[profiles.p.clusters.ha]\nfence = "lab"\nround = 0\n'))
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(_write(tmp_path, '[profiles.p.clusters.ha]\nfence = "lab"\nfoo = 1\n'))


def test_the_node_probe_is_read_from_the_ha_table(tmp_path):
    ha_table = '[profiles.p.clusters.ha]\nfence = "lab"\n'
    (cluster,) = load_config(_write(tmp_path, ha_table)).clusters("p")
    assert cluster.ha.probe is None  # none unless configured
    (cluster,) = load_config(_write(tmp_path, ha_table + 'probe = "tcp:22"\nprobe_timeout = 2\n'
                                    '[profiles.p.clusters.ha.probe_addresses]\n'
                                    'kvm1 = "10.0.0.1"\n')).clusters("p")
    probe = from_config(cluster.ha)
    assert (probe.kind, probe.port, probe.timeout, probe.label) == ("tcp", 22, 2.0,
                                                                    "TCP port 22")
    assert probe.address("kvm1", "qemu+ssh://root@kvm1.lan/system") == "10.0.0.1"
    assert probe.address("kvm2", "qemu+ssh://root@kvm2.lan/system") == "kvm2.lan"
    assert probe.address("pve1", "qemu:///system") is None
    for bad in ('"tcp"', '"tcp:0"', '"udp:53"', '"tcp:\uff17"'):
        with pytest.raises(ConfigError, match='expected "icmp" or "tcp:PORT"'):
            load_config(_write(tmp_path, ha_table + f"probe = {bad}\n"))


def test_the_scheduler_is_read_from_the_ha_table(tmp_path):
    ha_table = '[profiles.p.clusters.ha]\nfence = "lab"\n'
    (cluster,) = load_config(_write(tmp_path, ha_table)).clusters("p")
    assert cluster.ha.crs == "basic"  # Proxmox's default
    (cluster,) = load_config(_write(tmp_path, ha_table + 'crs = "static"\n')).clusters("p")
    assert cluster.ha.crs == "static"
    with pytest.raises(ConfigError, match='expected "basic", "static" or "dynamic"'):
        load_config(_write(tmp_path, ha_table + 'crs = "drs"\n'))


def _status(updated: float) -> ManagerStatus:
    return ManagerStatus(
        "lab", 42, updated, 10.0, 60.0, False, 1, 3,
        "1 of 3 votes, 2 needed (nodes online: pve3)",
        (NodeRecord("pve1", "fence", False, updated - 70, 3, "fence_ipmilan exited with "
                    "status 1: \x1b[31mno route"),
         NodeRecord("pve3", "online", True, updated)),
        (ServiceRecord("vm/1234", "web\u202e1", "pve1", "started", "fence"),),
        (Decision(updated, "no_quorum", "no quorum: nothing recovered"),),
        (ManagerTask("ha-1-1", "hafence", "node/pve1", "pve1", updated, updated, False,
                     ("fencing",), "exit 1"),))


def test_the_status_file_reads_back_and_goes_stale(tmp_path):
    path = tmp_path / "ha" / "c.json"
    write_status(path, _status(1000.0))
    back = read_status(path)
    assert back == _status(1000.0)
    assert not back.stale(1000.0 + 30 + 60) and back.stale(1000.0 + 31 + 60)
    path.write_text("{half")
    assert read_status(path) is None


def test_ha_status_lines_say_no_quorum_and_the_failed_fence_as_data(tmp_path):
    lines = "\n".join(status_lines(_status(1000.0), "x.json", now=1005.0))
    assert "NO QUORUM: 1 of 3 votes, 2 needed" in lines and "recovering nothing" in lines
    assert "fence failed 3x: fence_ipmilan exited with status 1: \\x1b[31mno route" in lines
    assert "web\\u202e1" in lines and "\x1b" not in lines and "\u202e" not in lines
    shown = "\n".join(status_lines(_status(1000.0), "x.json", now=2000.0))
    assert "STALE" in shown and shown.isascii()  # the CLI's own words, in any locale
    assert "is `vmconsole ha run` running?" in status_lines(None, "x.json")[0]


def test_a_fence_command_succeeds_only_on_exit_status_zero(tmp_path):
    ok = CommandFence((sys.executable, "-c", "print('off: {node}')"), 10.0).fence("pve2", "u")
    assert ok.ok and ok.message.endswith("confirmed: off: pve2")
    bad = CommandFence((sys.executable, "-c", "import sys; sys.exit('BMC timeout')"),
                       10.0).fence("pve2", "u")
    assert not bad.ok and "exited with status 1: BMC timeout" in bad.message
    slow = CommandFence((sys.executable, "-c", "import time; time.sleep(5)"), 0.3)
    assert "did not finish within 0.3 s" in slow.fence("pve2", "u").message
    missing = CommandFence((str(tmp_path / "nope"),), 1.0).fence("pve2", "u")
    assert not missing.ok and "could not run" in missing.message
