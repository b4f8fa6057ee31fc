"""The levels of a backend's own inventory between the cluster and its nodes (vCenter's
datacenters and vSphere clusters): `Inventory.containers`, made by a backend that has
such levels, and empty for the others."""

from __future__ import annotations

from dataclasses import dataclass

from vmconsole.model.vsphere import VSphereClusterConfig


@dataclass(frozen=True, slots=True)
class Container:
    """A level of the backend's own inventory between the cluster and its nodes, in the
    backend's terms: a vSphere datacenter, a vSphere cluster. A node names its innermost
    container (`Node.container`), a container the one around it (`parent`)."""

    id: str  # "container/<backend's id>", unique in the inventory
    name: str
    kind: str  # what the backend calls it: "datacenter", "vSphere cluster"
    parent: str | None = None
    vsphere: VSphereClusterConfig | None = None  # a vSphere cluster's HA and DRS
