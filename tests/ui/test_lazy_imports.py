"""What the default demo's first screen does not use is not imported before it (issue 12):
a module imported at start costs every start its import, and nothing else shows it. The
console starts in a fresh interpreter, as `vmconsole` does, and lists what it has
imported once its first full screen is drawn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The start of benchmarks/scale.py's probe: the default demo to its first full screen.
FIRST_SCREEN = """
import asyncio, dataclasses, sys
from vmconsole.config import SimCluster
from vmconsole.ui.app import VMConsoleApp
from vmconsole.ui.launch import open_loops
from vmconsole.ui.widgets.cluster_tree import ClusterTree

async def main():
    loops = open_loops((SimCluster(),))
    for loop in loops:
        loop.start()
    try:
        app = VMConsoleApp(loops)
        async with app.run_test(size=(120, 40)) as pilot:
            while app.query_one(ClusterTree).guest_count() == 0:
                await pilot.pause(0.01)
            await pilot.pause()
            print("\\n".join(sorted(sys.modules)))
            # and every dataclass that the console's modules loaded by now define
            print("\\n".join(f"record:{name}" for module in list(sys.modules.values())
                             if module.__name__.startswith("vmconsole")
                             for name, value in vars(module).items()
                             if isinstance(value, type) and dataclasses.is_dataclass(value)
                             and value.__module__ == module.__name__))
    finally:
        for loop in loops:
            loop.stop()

asyncio.run(main())
"""

#: Imported by the code that uses them, never for the first screen.
LOADED_WHEN_USED = {
    # the simulator's operations and scenarios (sim/backend.py, sim/cluster_admin.py)
    "vmconsole.backends.sim.backups", "vmconsole.backends.sim.clones",
    "vmconsole.backends.sim.faults", "vmconsole.backends.sim.ha_admin",
    "vmconsole.backends.sim.ha_config", "vmconsole.backends.sim.ha_shutdown",
    "vmconsole.backends.sim.hardware", "vmconsole.backends.sim.removal",
    "vmconsole.backends.sim.scenarios", "vmconsole.backends.sim.snapshots",
    "vmconsole.backends.sim.lesson",
    # the CRM master's rounds, the HA services and their placement, the CRS, FT and the
    # guests' operations, until the first round (about 10 s in) or an action
    # (sim/ha.py, sim/cluster_admin.py)
    "vmconsole.backends.sim.ha_crm", "vmconsole.backends.sim.ha_services",
    "vmconsole.backends.sim.ha_candidates", "vmconsole.backends.sim.ha_placement",
    "vmconsole.backends.sim.ha_rules", "vmconsole.backends.sim.ha_usage",
    "vmconsole.backends.sim.ha_disarm", "vmconsole.backends.sim.balance",
    "vmconsole.backends.sim.ft", "vmconsole.backends.sim.migration",
    "vmconsole.backends.sim.power", "vmconsole.backends.sim.guards",
    "vmconsole.backends.sim.tasks",
    # the data of the clone, backup, hardware, HA, HA rule, CRS and FT dialogs, and a
    # guest's addresses read one by one (a real backend's agent, its background sweep)
    "vmconsole.backends.clones", "vmconsole.backends.backups",
    "vmconsole.backends.hardware", "vmconsole.backends.ha_config",
    "vmconsole.backends.addresses",
    # the placement rules and the scoring they share with the rebalance planner, with
    # the CRM's first round (a cluster's quorum is `vmconsole.ha.quorum`'s)
    "vmconsole.ha.rules", "vmconsole.balance", "vmconsole.balance.usage",
    "vmconsole.balance.topsis", "vmconsole.balance.planner",
    # the ping stack, until something is pinged, and the ping panel, until first shown
    "vmconsole.monitor.ping.detector", "vmconsole.monitor.ping.measurement",
    "icmplib", "vmconsole.ui.widgets.ping_panel",
    # dialogs and screens, and where each one's keys work (`?`, a [keys] remap)
    "vmconsole.ui.modals", "vmconsole.ui.screens", "vmconsole.ui.help_places",
    # the text boxes: the tree's filter box (made by `/`) and the ping panel's address
    # box (made with the panel's children), each a Textual Input subclass
    "vmconsole.ui.widgets.plain_input", "vmconsole.ui.widgets.filter_box",
    "vmconsole.ui.widgets.address_box",
    # the task log and its table, until the log is first shown (ui/widgets/task_slot.py)
    "vmconsole.ui.widgets.task_log", "textual.widgets._data_table",
    # the palette's guest entries, until the palette opens (ui/operations_features.py)
    "vmconsole.ui.guest_commands",
    # the audit log's and the maintenance record's format, until a record is written or
    # read; the built-in themes are read from the package's directory
    "json", "importlib.resources",
    # a cluster's imbalance (balance/usage.py), the shell quoting of a refused file's fix
    # (strictmodes.py): none is computed or refused at start
    "statistics", "shlex",
    # the records of real clusters' configs (libvirt, Proxmox VE, vCenter), until a
    # profile names one
    "vmconsole.config.real_clusters",
    # the model's records that only some backends or operations make: a guest's
    # snapshots, vCenter's containers and vSphere settings, a libvirt guest's copies
    "vmconsole.model.snapshots", "vmconsole.model.containers", "vmconsole.model.vsphere",
    "vmconsole.model.duplicates",
}

#: Records (dataclasses) the first screen makes none of, defined by modules imported when
#: used: Python 3.11 writes each one's generated methods from source, about half a
#: millisecond a record, on every start that defines it.
RECORDS_MADE_WHEN_USED = {
    "HAManagerConfig", "LibvirtCluster", "ProxmoxCluster", "VCenterCluster",
    # the simulator's: snapshots, backups, FT pairs, tasks, affinity rules, migrations,
    # the CRS settings, and the placement rules' and scoring's records
    "SimSnapshot", "SimBackup", "FTPair", "TaskRecord", "ResourceAffinity", "MigrationRun",
    "CRSSettings", "Score", "Candidate", "Scheduler", "NodeView", "Preferences", "Usage",
    "Criterion",
    # what operations, dialogs and real backends make: snapshots, containers (vSphere's
    # datacenters and clusters), vSphere's settings, duplicates, a clone's spec, a
    # guest's HA settings, an address read one by one
    "Snapshot", "Container", "VSphereVmHA", "VSphereClusterConfig", "Duplicate",
    "CloneSpec", "HASettings", "AddressReading",
}


def test_the_first_screen_imports_only_what_it_uses():
    shown = subprocess.run([sys.executable, "-c", FIRST_SCREEN], cwd=ROOT,
                           capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.split()
    loaded = {line for line in lines if not line.startswith("record:")}
    records = {line.removeprefix("record:") for line in lines if line.startswith("record:")}
    # the probe did reach the first screen, with the simulator's build and inventory
    assert {"vmconsole.backends.sim.inventory", "vmconsole.ui.app"} <= loaded
    assert {"SimCluster", "Guest"} <= records
    assert sorted(LOADED_WHEN_USED & loaded) == []
    assert sorted(RECORDS_MADE_WHEN_USED & records) == []


# `vmconsole` as a user starts it, up to reading its config (here one that is missing).
COMMAND_LINE = """
import sys
from vmconsole.cli import main
try:
    main(["--config", sys.argv[1]])
finally:
    print("\\n".join(sorted(sys.modules)))
"""


def test_the_console_command_imports_no_other_command(tmp_path):
    """`vmconsole` registers the console's options alone: serve's, lab's, ha's and the
    other commands' modules are imported only for those commands (or for `--help`)."""
    started = subprocess.run([sys.executable, "-c", COMMAND_LINE, str(tmp_path / "none")],
                             cwd=ROOT, capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
    assert started.returncode == 2 and "file not found" in started.stderr
    loaded = {m for m in started.stdout.split() if m.startswith("vmconsole.commands.")}
    assert loaded == {"vmconsole.commands.console"}
