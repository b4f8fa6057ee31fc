"""Bulk reads through vSphere's PropertyCollector: many objects' properties in one call.

vSphere API reference, `PropertyCollector.RetrievePropertiesEx`: a filter spec names the
starting objects (here a ContainerView over the whole inventory, traversed through its
`view` property) and, per managed object type, the property paths wanted. The answer
comes in pages (`token`, continued with `ContinueRetrievePropertiesEx`). A path that is
not set on an object is left out of its properties (or listed in `missingSet`), never
read one by one: reading an unset property on its own can break a vcsim session.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyVmomi import vim, vmodl

PC = vmodl.query.PropertyCollector

# The page size asked of vCenter: large pages, few round trips (vCenter may send fewer).
PAGE = 1000


@dataclass(frozen=True, slots=True)
class ObjectProps:
    """One managed object and the properties vCenter returned for it, by path."""

    ref: Any  # a pyvmomi managed object reference (vim.VirtualMachine, ...)
    props: Mapping[str, Any]

    @property
    def moid(self) -> str:
        """vSphere's managed object id, e.g. "vm-42", "host-21"."""
        return str(self.ref._moId)

    def get(self, path: str, default: Any = None) -> Any:
        value = self.props.get(path)
        return default if value is None else value


def container_view(content: Any, types: Sequence[type]) -> Any:
    """A ContainerView of every object of these types under the root folder (a session
    object: it lives until the session ends)."""
    return content.viewManager.CreateContainerView(content.rootFolder, list(types), True)


def retrieve_view(content: Any, view: Any, paths: Mapping[type, Sequence[str]]
                  ) -> list[ObjectProps]:
    """The given properties of every object in `view`, in one collector call (paged)."""
    traverse = PC.TraversalSpec(name="view", type=vim.view.ContainerView, path="view",
                                skip=False)
    start = PC.ObjectSpec(obj=view, skip=True, selectSet=[traverse])
    return _retrieve(content, [start], paths)


def retrieve_objects(content: Any, refs: Iterable[Any], paths: Mapping[type, Sequence[str]]
                     ) -> list[ObjectProps]:
    """The given properties of these objects (of the types in `paths`), in one call."""
    return _retrieve(content, [PC.ObjectSpec(obj=ref, skip=False) for ref in refs], paths)


def _retrieve(content: Any, objects: list[Any], paths: Mapping[type, Sequence[str]]
              ) -> list[ObjectProps]:
    if not objects:
        return []
    specs = [PC.PropertySpec(type=kind, pathSet=list(wanted)) for kind, wanted in paths.items()]
    spec = PC.FilterSpec(objectSet=objects, propSet=specs)
    collector = content.propertyCollector
    result = collector.RetrievePropertiesEx([spec], PC.RetrieveOptions(maxObjects=PAGE))
    out: list[ObjectProps] = []
    while result is not None:
        out += [ObjectProps(item.obj, {p.name: p.val for p in item.propSet or ()})
                for item in result.objects or ()]
        token = result.token
        result = collector.ContinueRetrievePropertiesEx(token) if token else None
    return out


__all__ = ["ObjectProps", "container_view", "retrieve_objects", "retrieve_view"]
