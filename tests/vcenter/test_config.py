"""The `vcenter` kind of cluster in a profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmconsole.config import ConfigError, VCenterCluster, load_config

PROFILE = """
[[profiles.vc.clusters]]
kind = "vcenter"
name = "vc"
host = "vcenter.example.org"
user = "administrator@vsphere.local"
{secret}
fingerprint = "{fingerprint}"
"""
PIN = ":".join(["AB"] * 32)  # a SHA-256 fingerprint as vCenter shows it


def test_a_vcenter_cluster_reads_its_password_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "vc-password"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    path = tmp_path / "config.toml"
    path.write_text(PROFILE.format(fingerprint=PIN, secret=f'password_file = "{secret}"'))
    (cluster,) = load_config(path).clusters("vc")
    assert isinstance(cluster, VCenterCluster)
    assert (cluster.host, cluster.port, cluster.password) == ("vcenter.example.org", 443,
                                                              "s3cret")
    assert cluster.verify_ssl and cluster.timeout == 10.0
    assert "s3cret" not in repr(cluster)


def test_the_password_itself_is_refused_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(PROFILE.format(fingerprint=PIN, secret='password = "s3cret"'))
    with pytest.raises(ConfigError, match="secrets do not go in the config file") as error:
        load_config(path)
    assert error.value.line == 7


def test_a_vcenter_cluster_needs_a_password(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(PROFILE.format(fingerprint=PIN, secret='token_name = "x"'))
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(path)
    path.write_text(PROFILE.format(fingerprint=PIN, secret=""))
    with pytest.raises(ConfigError, match="password_env or password_file"):
        load_config(path)
