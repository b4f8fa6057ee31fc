"""One profile with a libvirt cluster and a Proxmox cluster opens both backends, and
both show in one console tree."""

from __future__ import annotations

import pytest

from tests.proxmox.conftest import TOKEN_SECRET
from vmconsole.backends import open_backend
from vmconsole.config import load_config

pytest.importorskip("libvirt", reason="libvirt-python is not installed")
pytest.importorskip("vmconsole.backends.libvirt",
                    reason="the libvirt backend has not landed in this tree yet")

PROFILE = """
default_profile = "both"

[[profiles.both.clusters]]
kind = "libvirt"
name = "kvm"
uris = ["test:///default"]

[[profiles.both.clusters]]
kind = "proxmox"
name = "pve"
host = "{host}"
port = {port}
user = "vmconsole@pve"
token_name = "ci"
token_secret_file = "{secret}"
ca_file = "{cafile}"
timeout = 3
"""


def test_a_profile_with_libvirt_and_proxmox_opens_both(fakepve, tmp_path):
    secret = tmp_path / "pve-token"
    secret.write_text(TOKEN_SECRET + "\n")
    secret.chmod(0o600)  # a secret others may read is refused
    config_file = tmp_path / "config.toml"
    config_file.write_text(PROFILE.format(host=fakepve.host, port=fakepve.port,
                                          secret=secret, cafile=fakepve.cafile))
    backends = [open_backend(c) for c in load_config(config_file).clusters(None)]
    try:
        inventories = {b.name: b.inventory() for b in backends}
        assert set(inventories) == {"kvm", "pve"}
        assert inventories["kvm"].nodes and inventories["kvm"].guests
        assert [n.name for n in inventories["pve"].nodes] == ["pve1", "pve2", "pve3"]
        assert inventories["pve"].guest("lxc/200").name == "cache"
    finally:
        for backend in backends:
            backend.close()


async def test_both_clusters_show_in_one_tree(fakepve, tmp_path, monkeypatch):
    from vmconsole.ui.app import VMConsoleApp
    from vmconsole.ui.launch import open_loops
    from vmconsole.ui.widgets.cluster_tree import ClusterTree

    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    secret = tmp_path / "pve-token"
    secret.write_text(TOKEN_SECRET + "\n")
    secret.chmod(0o600)  # a secret others may read is refused
    config_file = tmp_path / "config.toml"
    config_file.write_text(PROFILE.format(host=fakepve.host, port=fakepve.port,
                                          secret=secret, cafile=fakepve.cafile))
    config = load_config(config_file)
    loops = open_loops(config.clusters(None))
    for loop in loops:
        loop.start()
    try:
        app = VMConsoleApp(loops, config=config)
        async with app.run_test(size=(120, 40)) as pilot:
            tree = app.query_one(ClusterTree)
            for _ in range(100):
                await pilot.pause(0.05)
                if len(app.latest) == 2 and all(r.inventory for r in app.latest.values()):
                    break
            await pilot.pause()
            clusters = [str(child.label).split()[0] for child in tree.root.children]
            assert clusters == ["kvm", "pve"] or clusters == ["pve", "kvm"]
            lines = [str(tree.get_node_at_line(i).label) for i in range(tree.last_line + 1)]
            assert any("200 cache ct" in line for line in lines)  # a Proxmox container
            kvm_guests = app.latest["kvm"].inventory.guests
            assert any(g.name in line for g in kvm_guests for line in lines)
    finally:
        for loop in loops:
            loop.stop()
            loop.backend.close()
