"""One HA failover, in the demo and on the lab, as a timeline (docs/lab.md's table):
an HA guest's node loses its power; seconds from then until its node is lost, the
fence begins, the fence is confirmed, the guest is recovered, runs again, and answers
a ping again. The simulator's figures come from its `ha-failover` scenario on a manual
clock; the lab's from a real lab (root, the lab's packages, no lab up) whose HA manager
runs with Proxmox's timings (round 10 s, fence delay 60 s) unless told otherwise.

    python benchmarks/ha_timeline.py [--round 10] [--fence-delay 60] [--sim-only]

Prints `event_sim_s: N` and `event_lab_s: N` lines, the baseline (the simulator) beside
each lab figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vmconsole.backends.sim import ManualClock, SimBackend
from vmconsole.config import SimCluster
from vmconsole.lab import builder, checks, hamanager
from vmconsole.lab.faults import LabFault
from vmconsole.lab.probe import answers

EVENTS = ("lost", "fence", "fenced", "recovered", "running", "answers")
# the simulator's narration kinds, and the lab manager's decision kinds, per event
SIM_KINDS = {"lost": "node_lost", "fence": "fence", "fenced": "fenced",
             "recovered": "recovered", "running": "started", "answers": "booted"}
LAB_KINDS = {"lost": "node_lost", "fence": "fence", "fenced": "fenced",
             "recovered": "recovered"}


def sim_timeline() -> dict[str, float]:
    clock = ManualClock()
    backend = SimBackend(SimCluster(scenario="ha-failover"), clock=clock)
    start = clock.now()
    for _ in range(600):
        clock.advance(0.5)
        backend.inventory()
    events = backend.events()
    failed = next(e.time for e in events if e.kind == "power_off")
    out = {}
    for name, kind in SIM_KINDS.items():
        out[name] = next(e.time for e in events if e.kind == kind and e.time >= failed) - failed
    assert start <= failed
    return out


def lab_timeline(round_s: float, fence_delay: float) -> dict[str, float]:
    from vmconsole.ha.status import read_status

    root = Path(tempfile.mkdtemp(prefix="vmclab-ha-"))
    os.environ["VMCONSOLE_LAB_DIR"] = str(root / "state")
    os.environ["VMCONSOLE_AUDIT_LOG"] = str(root / "audit.jsonl")
    config = root / "config.toml"
    try:  # a lab that fails half-way is removed too
        lab = builder.up(3, 1, config, lambda _line: None, containers=0, ha_guests=1,
                         ha_times={"round": round_s, "fence_delay": fence_delay})
        deadline = time.monotonic() + 180
        while not answers("10.77.0.11") and time.monotonic() < deadline:
            time.sleep(0.5)
        failed = time.time()
        builder.fail("pve1", LabFault.POWER, lambda _line: None)
        out: dict[str, float] = {}
        import libvirt

        deadline = time.monotonic() + fence_delay + 300
        while len(out) < len(EVENTS) and time.monotonic() < deadline:
            status = read_status(hamanager.status_file(lab))
            for name, kind in LAB_KINDS.items():
                hit = next((d.time for d in (status.decisions if status else ())
                            if d.kind == kind and d.time >= failed), None)
                if hit is not None and name not in out:
                    out[name] = hit - failed
            if "running" not in out:
                for node in lab.nodes[1:]:
                    conn = libvirt.open(node.uri)
                    try:
                        if any(d.name() == "vm1" for d in conn.listAllDomains(
                                libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)):
                            out["running"] = time.time() - failed
                    finally:
                        conn.close()
            elif "answers" not in out and answers("10.77.0.11"):
                out["answers"] = time.time() - failed
            time.sleep(0.1)
        return out
    finally:
        builder.down(config, lambda _line: None)
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round", type=float, default=10.0)
    parser.add_argument("--fence-delay", type=float, default=60.0)
    parser.add_argument("--sim-only", action="store_true")
    args = parser.parse_args()
    if not args.sim_only and (problems := checks.problems()):
        sys.exit("; ".join(problems))
    sim = sim_timeline()
    lab = {} if args.sim_only else lab_timeline(args.round, args.fence_delay)
    for name in EVENTS:
        print(f"{name}_sim_s: {sim[name]:.1f}")
        if not args.sim_only:
            print(f"{name}_lab_s: {lab[name]:.1f}" if name in lab else f"{name}_lab_s: none")


if __name__ == "__main__":
    main()
