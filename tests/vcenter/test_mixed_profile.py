"""One profile with a libvirt, a Proxmox and a vCenter cluster: all three in one tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.proxmox.conftest import (  # noqa: F401 (fakepve's fixtures, used by name)
    TOKEN_SECRET,
    FakePveProcess,
    fakepve,
    fakepve_process,
)
from tests.vcenter.vcsim import PASSWORD, USER, Vcsim
from vmconsole.config import Config, load_config

pytest.importorskip("libvirt", reason="libvirt-python is not installed")

PROFILE = """
default_profile = "all"

[[profiles.all.clusters]]
kind = "libvirt"
name = "kvm"
uris = ["test:///default"]

[[profiles.all.clusters]]
kind = "proxmox"
name = "pve"
host = "{pve_host}"
port = {pve_port}
user = "vmconsole@pve"
token_name = "ci"
token_secret_file = "{pve_secret}"
ca_file = "{pve_ca}"
timeout = 3

[[profiles.all.clusters]]
kind = "vcenter"
name = "vc"
host = "{vc_host}"
port = {vc_port}
user = "{vc_user}"
password_file = "{vc_secret}"
fingerprint = "{vc_fingerprint}"
timeout = 5
"""


def _config(tmp_path: Path, pve: FakePveProcess, vc: Vcsim) -> Config:
    pve_secret, vc_secret = tmp_path / "pve-token", tmp_path / "vc-password"
    pve_secret.write_text(TOKEN_SECRET + "\n")
    pve_secret.chmod(0o600)
    vc_secret.write_text(PASSWORD + "\n")
    vc_secret.chmod(0o600)
    path = tmp_path / "config.toml"
    path.write_text(PROFILE.format(
        pve_host=pve.host, pve_port=pve.port, pve_secret=pve_secret, pve_ca=pve.cafile,
        vc_host=vc.host, vc_port=vc.port, vc_user=USER, vc_secret=vc_secret,
        vc_fingerprint=vc.fingerprint))
    return load_config(path)


async def test_libvirt_proxmox_and_vcenter_in_one_tree(
        fakepve: FakePveProcess, vcsim: Vcsim, tmp_path: Path) -> None:  # noqa: F811
    from vmconsole.ui.app import VMConsoleApp
    from vmconsole.ui.launch import open_loops
    from vmconsole.ui.widgets.cluster_tree import ClusterTree

    config = _config(tmp_path, fakepve, vcsim)
    loops = open_loops(config.clusters(None))
    for loop in loops:
        loop.start()
    try:
        app = VMConsoleApp(loops, config=config)
        async with app.run_test(size=(120, 50)) as pilot:
            tree = app.query_one(ClusterTree)
            for _ in range(200):
                await pilot.pause(0.05)
                if len(app.latest) == 3 and all(r.inventory for r in app.latest.values()):
                    break
            await pilot.pause()
            clusters = sorted(str(child.label).split()[0] for child in tree.root.children)
            assert clusters == ["kvm", "pve", "vc"]
            tree.root.expand_all()
            await pilot.pause()
            lines = [str(tree.get_node_at_line(i).label) for i in range(tree.last_line + 1)]
            assert any("200 cache ct" in line for line in lines)  # a Proxmox container
            kvm_guests = app.latest["kvm"].inventory.guests
            assert any(g.name in line for g in kvm_guests for line in lines)
            assert any("DC0_C0_H0" in line for line in lines)  # an ESXi host
            vc_guests = app.latest["vc"].inventory.guests
            assert vc_guests and all(any(g.name in line for line in lines) for g in vc_guests)
    finally:
        for loop in loops:
            loop.stop()
            loop.backend.close()
