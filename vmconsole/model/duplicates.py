"""A guest defined more than once in a cluster (`Guest.duplicate`): what the copies
share and where the others are. libvirt's hosts each keep their own definitions, so one
UUID can be defined on two of them; the other backends have one definition per guest."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Duplicate:
    """This guest is one of several copies of one guest in the cluster, e.g. a libvirt
    UUID defined on two hosts (what a migration without --undefinesource leaves): each
    copy is its own row with its own id, and knows the others."""

    shared: str  # what the copies share, in the backend's terms: "UUID"
    value: str  # its value: the UUID
    copies: tuple[str, ...]  # the other copies' guest ids
    nodes: tuple[str, ...]  # the other copies' nodes
    advice: str = ""  # what an admin does about it, in the backend's terms
