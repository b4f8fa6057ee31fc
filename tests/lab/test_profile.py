"""The `lab` profile is added to, replaced in and removed from the user's config file
without touching the rest of it."""

from pathlib import Path

from vmconsole.config import LibvirtCluster, load_config
from vmconsole.lab.profile import has_profile, remove_profile, write_profile

MINE = """# my settings
theme = "vmconsole-light"

[[profiles.home.clusters]]
kind = "sim"
nodes = 5
"""


def test_the_profile_is_added_then_replaced_and_the_rest_kept(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(MINE)
    write_profile(path, ["qemu:///system?socket=/a/pve1/run/libvirt-sock"])
    write_profile(path, ["qemu:///system?socket=/b/pve1/run/libvirt-sock",
                         "qemu:///system?socket=/b/pve2/run/libvirt-sock"],
                  probe_netns="vmclab-lan", lab_dir=Path('/b/"odd" dir'))
    text = path.read_text()
    assert text.startswith(MINE)
    assert text.count("[[profiles.lab.clusters]]") == 1
    config = load_config(path)
    (lab,) = config.clusters("lab")
    assert isinstance(lab, LibvirtCluster)
    assert lab.uris == ("qemu:///system?socket=/b/pve1/run/libvirt-sock",
                        "qemu:///system?socket=/b/pve2/run/libvirt-sock")
    assert lab.probe_netns == "vmclab-lan"  # where the ping monitor reaches the guests
    assert lab.lab_dir == '/b/"odd" dir'  # where the console's f fails a node
    assert config.clusters("home")[0].nodes == 5


def test_removing_the_profile_restores_the_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(MINE)
    write_profile(path, ["test:///default"])
    path.write_text('default_profile = "lab"\n' + path.read_text())
    assert load_config(path).default_profile == "lab"
    assert remove_profile(path)
    assert path.read_text() == MINE
    assert not remove_profile(path)


def test_a_new_file_gets_just_the_profile(tmp_path):
    path = tmp_path / "sub" / "config.toml"
    write_profile(path, ["test:///default"])
    assert load_config(path).clusters("lab")[0].uris == ("test:///default",)


def test_a_config_nested_too_deeply_for_tomllib_has_no_lab_profile(tmp_path: Path) -> None:
    # tomllib's parser recurses: thousands of nested arrays raised RecursionError
    config = tmp_path / "config.toml"
    config.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    assert not has_profile(config)
