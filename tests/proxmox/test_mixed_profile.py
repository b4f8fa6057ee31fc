"""One profile with a libvirt cluster and a Proxmox cluster opens both backends, and
both inventories come back side by side (the tree that shows them is the UI's)."""

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
