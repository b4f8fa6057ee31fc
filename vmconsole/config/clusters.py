"""The clusters of a profile: one dataclass per kind (the simulator here; libvirt with
its HA manager, Proxmox VE and vCenter in `real_clusters`, imported when a profile names
one) and the reading of a `[[profiles.NAME.clusters]]` table into one, each key checked
where the backend would fail on it later."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from vmconsole.config.reader import TableReader
from vmconsole.config.sim_limits import shape_refusals

if TYPE_CHECKING:
    from vmconsole.config.real_clusters import LibvirtCluster, ProxmoxCluster, VCenterCluster


@dataclass(frozen=True, slots=True)
class SimCluster:
    """A `[[profiles.NAME.clusters]]` table of kind "sim": the built-in simulator,
    `nodes` nodes with the classic lab's guests (or `guests` generated ones), its clock
    `time_scale` times real time, running `scenario` (a scenario's name or a lesson
    file) when given."""

    name: str = "lab"
    nodes: int = 3
    guests: int = 0  # 0: the classic lab's guests; more: a generated cluster for scale
    seed: int = 1
    time_scale: float = 1.0
    scenario: str | None = None
    kind: str = "sim"


# Written out for the type checker: the real clusters' classes are not loaded at start.
ClusterConfig: TypeAlias = "SimCluster | LibvirtCluster | ProxmoxCluster | VCenterCluster"

REAL_KINDS = ("libvirt", "proxmox", "vcenter")
_SIM_KEYS = {"kind", "name", "nodes", "guests", "seed", "time_scale", "scenario"}


def read_cluster(r: TableReader, table: dict[str, Any], prefix: str) -> ClusterConfig:
    """The cluster a `[[profiles.NAME.clusters]]` table describes (`prefix` is its key
    path, for errors). Raises ConfigError naming the key that is wrong and why."""
    kind = r.get(table, "kind", prefix, str, required=True)
    if kind == "sim":
        r.unknown(table, _SIM_KEYS, prefix)
        sim = SimCluster(
            name=r.get(table, "name", prefix, str, "lab"),
            nodes=r.get(table, "nodes", prefix, int, 3),
            guests=r.get(table, "guests", prefix, int, 0),
            seed=r.get(table, "seed", prefix, int, 1),
            time_scale=r.get(table, "time_scale", prefix, float, 1.0),
            scenario=r.get(table, "scenario", prefix, str),
        )
        # Checked here, not only when the simulator is built, so that the refusal names
        # the file, line and key like every other config error.
        if refused := shape_refusals(sim.nodes, sim.guests, sim.time_scale):
            key, reason = next(iter(refused.items()))  # one line: the first key refused
            raise r.fail(f"{prefix}.{key}", f"must be {reason}, got {getattr(sim, key)!r}")
        return sim
    if kind in REAL_KINDS:
        from vmconsole.config.real_clusters import read_real_cluster  # loaded when used

        return read_real_cluster(r, table, prefix, kind)
    raise r.fail(f"{prefix}.kind",
                 f"unknown kind '{kind}' (sim, libvirt, proxmox or vcenter)")
