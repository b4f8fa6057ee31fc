"""The libvirt backend: a cluster is a list of host URIs, each host a node.

Guests are "vm/<UUID>". See docs/libvirt.md.
"""

from __future__ import annotations

from vmconsole.backends.libvirt.backend import LibvirtBackend
from vmconsole.config import LibvirtCluster

__all__ = ["LibvirtBackend", "open_libvirt"]


def open_libvirt(cfg: LibvirtCluster) -> LibvirtBackend:
    """A backend for the cluster; hosts connect on the first `inventory()` call, in
    parallel and bounded by `cfg.timeout`, so opening never blocks."""
    return LibvirtBackend(cfg)
