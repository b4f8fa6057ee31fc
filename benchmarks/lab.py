"""The lab's figures: time to build it; over N live migrations of a running guest (the
diskless vm1, then a guest made from the template whose disk is an iSCSI LUN) its
wall time and downtime, as probes from the LAN namespace saw it (10 ms ICMP) next to
libvirt's own figure; over N restart migrations of a running container its outage as
the probes saw it next to the console's own stop-to-start figure. Needs root and the
lab's packages; builds and removes its own lab in a temporary directory (no lab may
be up).

    python benchmarks/lab.py [--migrations 10] [--nodes 3] [--guests 2]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vmconsole.backends.base import MigrationMode, TaskStatus
from vmconsole.backends.clones import CloneSpec
from vmconsole.backends.libvirt import open_libvirt
from vmconsole.config import LibvirtCluster, load_config
from vmconsole.lab import builder, checks, dhcp, network
from vmconsole.lab.layout import LAN_NS, TEMPLATE, layout
from vmconsole.lab.probe import PingProbe, answers

PROBE_INTERVAL_S = 0.01
PROBE_WINDOW_S = 6.0  # covers a 2-3 s migration with room on both sides


def figures(name: str, values: list[float], unit: str) -> None:
    print(f"{name}_mean_{unit}: {statistics.mean(values):.1f}")
    print(f"{name}_median_{unit}: {statistics.median(values):.1f}")
    print(f"{name}_min_{unit}: {min(values):.1f}")
    print(f"{name}_max_{unit}: {max(values):.1f}")


def migrate_once(backend, guest_id: str, address: str,
                 mode: MigrationMode = MigrationMode.LIVE) -> tuple[float, int, float, int]:
    """(wall s, downtime ms as the backend reports it, probed longest gap ms, lost
    probes)."""
    inv = backend.inventory()
    guest = inv.guest(guest_id)
    target = next(n.name for n in inv.nodes if n.name != guest.node)
    probe = PingProbe(address, PROBE_WINDOW_S, PROBE_INTERVAL_S)
    time.sleep(1.0)
    task = wait_task(backend, backend.migrate(guest_id, target, mode))
    outage = probe.result()
    return (float(task.result["wall_s"]), int(task.result["downtime_ms"]),
            outage.longest_gap_s * 1000, outage.lost)


def san_guest(backend, root: Path) -> tuple[str, str]:
    """A running guest made from the template, its disk a LUN of the iSCSI target:
    (its leased address, its id)."""
    template = next(g for g in backend.inventory().guests if g.name == TEMPLATE)
    task = wait_task(backend, backend.clone(template.id, CloneSpec("bench-san", "pve2")))
    guest_id = str(task.result["new_id"])
    wait_task(backend, backend.start(guest_id))
    xml = backend.host_named("pve2").connection().lookupByName("bench-san").XMLDesc(0)
    mac = re.findall(r"mac address='([^']+)'", xml)[0]
    deadline = time.monotonic() + 180
    while (ip := dhcp.lease_of(layout(1, 0, root), mac)) is None or not answers(ip):
        if time.monotonic() > deadline:
            raise SystemExit("the guest made from the template never answered")
        time.sleep(0.5)
    return ip, guest_id


def wait_task(backend, task):
    while not backend.task(task.id).status.done:
        time.sleep(0.05)
    done = backend.task(task.id)
    if done.status is not TaskStatus.OK:
        raise SystemExit(f"{done.operation} failed: {done.error}")
    return done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--migrations", type=int, default=10)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--guests", type=int, default=2)
    args = parser.parse_args()
    if problems := checks.problems():
        print("\n".join(problems), file=sys.stderr)
        return 2
    if network.netns_exists(LAN_NS):
        print("a lab is already up: vmconsole lab down first", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["VMCONSOLE_LAB_DIR"] = str(Path(tmp) / "lab")
        config = Path(tmp) / "config.toml"
        started = time.monotonic()
        builder.up(args.nodes, args.guests, config, lambda _line: None, containers=1)
        print(f"lab_up_s: {time.monotonic() - started:.2f}")
        print(f"lab_nodes: {args.nodes}")
        print(f"lab_guests: {args.guests}")
        (cluster,) = load_config(config).clusters("lab")
        assert isinstance(cluster, LibvirtCluster)
        backend = open_libvirt(cluster)
        try:
            deadline = time.monotonic() + 60  # a booting TCG guest can hold a poll up
            inv = backend.inventory()
            while not all(n.online for n in inv.nodes):
                if time.monotonic() > deadline:
                    raise SystemExit("the nodes did not all answer within 60 s")
                time.sleep(1)
                inv = backend.inventory()
            vm1 = next(g for g in inv.guests if g.name == "vm1")
            started = time.monotonic()
            while not answers(vm1.ip or "", tries=1):
                if time.monotonic() - started > 60:
                    raise SystemExit("vm1 never answered")
            print(f"guest_reply_after_up_s: {time.monotonic() - started:.2f}")
            runs = [migrate_once(backend, vm1.id, vm1.ip or "") for _ in range(args.migrations)]
            san_ip, san_id = san_guest(backend, Path(tmp) / "lab")
            san_runs = [migrate_once(backend, san_id, san_ip) for _ in range(args.migrations)]
            ct1 = next(g for g in backend.inventory().guests if g.name == "ct1")
            ct_runs = [migrate_once(backend, ct1.id, ct1.ip or "", MigrationMode.RESTART)
                       for _ in range(args.migrations)]
        finally:
            backend.close()
            started = time.monotonic()
            builder.down(config, lambda _line: None)
            print(f"lab_down_s: {time.monotonic() - started:.2f}")
    print(f"migrations: {len(runs)}")
    figures("migration_wall", [r[0] * 1000 for r in runs], "ms")
    figures("downtime_libvirt", [float(r[1]) for r in runs], "ms")
    figures("downtime_probed_gap", [r[2] for r in runs], "ms")
    figures("probes_lost", [float(r[3]) for r in runs], "count")
    print(f"probed_minus_libvirt_mean_ms: "
          f"{statistics.mean(r[2] - r[1] for r in runs):.1f}")
    print(f"san_guest_migrations: {len(san_runs)}")
    figures("san_migration_wall", [r[0] * 1000 for r in san_runs], "ms")
    figures("san_downtime_libvirt", [float(r[1]) for r in san_runs], "ms")
    figures("san_downtime_probed_gap", [r[2] for r in san_runs], "ms")
    print(f"container_restart_migrations: {len(ct_runs)}")
    figures("ct_restart_wall", [r[0] * 1000 for r in ct_runs], "ms")
    figures("ct_outage_console", [float(r[1]) for r in ct_runs], "ms")
    figures("ct_outage_probed_gap", [r[2] for r in ct_runs], "ms")
    figures("ct_probes_lost", [float(r[3]) for r in ct_runs], "count")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
