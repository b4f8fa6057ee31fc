"""What a row of the cluster tree stands for: a cluster, a container, a node, a storage
or a guest of a named cluster."""

from __future__ import annotations

from dataclasses import dataclass

CLUSTER = "cluster"


@dataclass(frozen=True, slots=True)
class TreeRef:
    """What a tree node stands for: a cluster ("cluster"), a container of its own
    ("container/domain-c7": a vSphere cluster), a node ("node/pve1"), a storage
    ("storage/pve1/local") or a guest ("qemu/100") of a named cluster."""

    cluster: str
    object_id: str = CLUSTER

    @property
    def is_cluster(self) -> bool:
        return self.object_id == CLUSTER

    @property
    def is_container(self) -> bool:
        return self.object_id.startswith("container/")

    @property
    def is_node(self) -> bool:
        return self.object_id.startswith("node/")

    @property
    def is_storage(self) -> bool:
        return self.object_id.startswith("storage/")

    @property
    def is_guest(self) -> bool:
        return not (self.is_cluster or self.is_container or self.is_node or self.is_storage)

