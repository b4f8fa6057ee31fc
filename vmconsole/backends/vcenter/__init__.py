"""The VMware vCenter backend: vSphere's API through pyvmomi (see docs/vcenter.md)."""

from __future__ import annotations

from vmconsole.backends.vcenter.backend import VCenterBackend
from vmconsole.config import VCenterCluster


def open_vcenter(cfg: VCenterCluster) -> VCenterBackend:
    """A backend for one configured vCenter. Nothing is sent until the first call."""
    return VCenterBackend(cfg)


__all__ = ["VCenterBackend", "open_vcenter"]
