"""The Proxmox VE backend: PVE's HTTPS API through proxmoxer (see docs/proxmox.md)."""

from __future__ import annotations

from vmconsole.backends.proxmox.backend import ProxmoxBackend
from vmconsole.config import ProxmoxCluster


def open_proxmox(cfg: ProxmoxCluster) -> ProxmoxBackend:
    """A backend for one configured cluster. Nothing is sent until the first call."""
    return ProxmoxBackend(cfg)


__all__ = ["ProxmoxBackend", "open_proxmox"]
