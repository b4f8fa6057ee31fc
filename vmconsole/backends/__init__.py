"""Backends: the simulator, libvirt, Proxmox and vCenter, behind one protocol (`base.Backend`)."""

from __future__ import annotations

from vmconsole.backends.base import Backend
from vmconsole.config import ClusterConfig, SimCluster


def install_hint(module: str | None, extra: str) -> str:
    """What to say when a backend's library is missing (`module`, as ImportError names
    it), in the console's words, which `ha` and `lab` use too and the README quotes:
    `needs libvirt: pip install 'vmconsole[libvirt]'`."""
    return f"needs {module or extra}: pip install 'vmconsole[{extra}]'"


def open_backend(cluster: ClusterConfig) -> Backend:
    """A backend for one configured cluster; its module is imported only when used, so
    the demo runs without libvirt-python installed."""
    if isinstance(cluster, SimCluster):
        from vmconsole.backends.sim import open_sim

        return open_sim(cluster)
    # a real cluster's record: loaded with its profile, not for the demo
    from vmconsole.config import LibvirtCluster, ProxmoxCluster, VCenterCluster

    if isinstance(cluster, LibvirtCluster) and cluster.lab_dir:
        from vmconsole.lab.backend import open_lab

        return open_lab(cluster)
    if isinstance(cluster, LibvirtCluster):
        from vmconsole.backends.libvirt import open_libvirt

        return open_libvirt(cluster)
    if isinstance(cluster, ProxmoxCluster):
        from vmconsole.backends.proxmox import open_proxmox

        return open_proxmox(cluster)
    if isinstance(cluster, VCenterCluster):
        from vmconsole.backends.vcenter import open_vcenter

        return open_vcenter(cluster)
    raise TypeError(f"unknown cluster config {cluster!r}")
