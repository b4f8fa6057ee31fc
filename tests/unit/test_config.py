import os

import pytest

from vmconsole.config import (
    ConfigError,
    LibvirtCluster,
    ProxmoxCluster,
    SimCluster,
    load_config,
)

GOOD = """
theme = "vmconsole-light"
default_profile = "both"

[keys]
migrate = "M"

[[profiles.both.clusters]]
kind = "libvirt"
name = "kvm"
uris = ["test:///default"]

[[profiles.both.clusters]]
kind = "proxmox"
name = "pve"
host = "pve.example.org"
user = "root@pam"
token_name = "vmconsole"
token_secret_env = "PVE_SECRET"
"""


def test_no_file_means_the_demo(tmp_path, monkeypatch):
    monkeypatch.delenv("VMCONSOLE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    config = load_config()
    assert config.clusters(None) == (SimCluster(),)


def test_profiles_with_two_kinds_and_a_secret_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("PVE_SECRET", "s3cret")
    path = tmp_path / "c.toml"
    path.write_text(GOOD)
    config = load_config(path)
    kvm, pve = config.clusters(None)
    assert isinstance(kvm, LibvirtCluster) and kvm.uris == ("test:///default",)
    assert isinstance(pve, ProxmoxCluster) and pve.token_secret == "s3cret"
    assert "s3cret" not in repr(pve)
    assert config.keys == {"migrate": "M"} and config.theme == "vmconsole-light"


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        ("theme = 3\n", 1, "theme", "expected str"),
        ("[[profiles.a.clusters]]\nkind = \"libvirt\"\nname = \"x\"\nuris = []\n", 4,
         "profiles.a.clusters[0].uris", "non-empty list"),
        ("[[profiles.a.clusters]]\nkind = \"esx\"\n", 2, "profiles.a.clusters[0].kind",
         "unknown kind"),
        ("[[profiles.a.clusters]]\nkind = \"proxmox\"\nname = \"p\"\nhost = \"h\"\n"
         "user = \"u\"\ntoken_name = \"t\"\ntoken_secret = \"plain\"\n", 7,
         "profiles.a.clusters[0].token_secret", "do not go in the config file"),
        ("thme = \"x\"\n", 1, "thme", "unknown key"),
        ("theme = \"a\"\nserial_console_viewers = \"watch\"\n", 2,
         "serial_console_viewers", "\"refuse\" or \"read-only\""),
        ("theme = \n", 1, None, "not valid TOML"),
        ("theme = \"a\"\nbulk_concurrency = 65\n", 2, "bulk_concurrency",
         "expected 1 to 64 guests at once, got 65"),
        ("bulk_concurrency = 0\n", 1, "bulk_concurrency", "expected 1 to 64"),
        # each of these had no line
        ("[[profiles.a.clusters]]\nname = \"x\"\n", 1, "profiles.a.clusters[0].kind",
         "missing required key in the table that starts on this line"),
        ("theme = \"a\"\n[profiles.a]\nclusters = [{kind = \"sim\"},\n"
         "  {kind = \"sim\", name = \"b\", nodez = 3}]\n", 4,
         "profiles.a.clusters[1].nodez", "unknown key"),
        ("theme = \"a\"\nprofiles.a.clusters = []\nprofiles.a.colour = 1\n", 3,
         "profiles.a.colour", "unknown key"),
        ("theme = \"a\"\nascii = false\nnote = \"\"\"never closed\n", 3, None,
         "Unterminated string (at end of document)"),
    ],
)
def test_bad_files_name_the_file_line_and_key(tmp_path, text, line, key, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.line == line and err.value.key == key
    assert str(path) in str(err.value) and words in str(err.value)


TWO_NAMED_KVM = """
[[profiles.work.clusters]]
kind = "libvirt"
name = "kvm"
uris = ["test:///default"]

[[profiles.other.clusters]]
kind = "sim"
name = "kvm"      # another profile: allowed

[[profiles.work.clusters]]
kind = "sim"
name = "lab"

[[profiles.work.clusters]]
kind = "libvirt"
uris = ["test:///default"]
name = "kvm"
"""


@pytest.mark.parametrize("name", ["", "   "])
def test_a_cluster_without_a_name_is_refused(tmp_path, name):
    path = tmp_path / "c.toml"
    path.write_text(f'[[profiles.work.clusters]]\nkind = "sim"\nname = "{name}"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.key == "profiles.work.clusters[0].name" and err.value.line == 3
    assert str(err.value).endswith("a cluster needs a name, which the tree and the audit "
                                   "log show")


def test_two_clusters_of_one_name_in_a_profile_are_refused_where_the_second_is(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(TWO_NAMED_KVM)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.line == 18 and err.value.key == "profiles.work.clusters[2].name"
    assert str(err.value) == (
        f"{path}, line 18, key 'profiles.work.clusters[2].name': a second cluster named "
        "'kvm' in profile 'work' (clusters[0] has that name): give each a name of its own")


def test_a_default_name_taken_twice_points_at_the_table(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[[profiles.demo.clusters]]\nkind = "sim"\n\n'
                    '[[ profiles.demo.clusters ]]  # the second demo\nkind = "sim"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert (err.value.line, err.value.key) == (4, "profiles.demo.clusters[1].name")
    assert "a second cluster named 'lab'" in str(err.value)


def test_missing_explicit_file_and_unknown_profile(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")
    path = tmp_path / "c.toml"
    path.write_text("")
    with pytest.raises(ConfigError, match="no profile 'x'"):
        load_config(path).clusters("x")


@pytest.mark.parametrize("value", ["T", "ctrl+p", "question_mark", "f1,down", "shift+tab"])
def test_key_names_textual_knows_are_taken(tmp_path, value):
    path = tmp_path / "config.toml"
    path.write_text(f'[keys]\n"app.tasks" = "{value}"\n')
    assert load_config(path).keys == {"app.tasks": value}


CLUSTER_AT = """theme = "vmconsole-dark"

[[profiles.a.clusters]]
kind = "{kind}"
name = "c"
host = "{host}"
user = "root@pam"
password_env = "VMCONSOLE_TEST_PASSWORD"
"""


@pytest.mark.parametrize("kind", ["proxmox", "vcenter"])
@pytest.mark.parametrize("host", ["127.0.0.1\\u001b[2J[red]h", "pve 1", "", "-pve",
                                  "pve-.example.org", "a..b", "pve_1", "10.0.0.300",
                                  "[::1]", "fe80::1%eth0", "é.example.org",
                                  ("a" * 64) + ".org", ".".join(["a" * 63] * 5)])
def test_a_host_that_is_no_name_nor_address_is_refused_at_its_line(tmp_path, monkeypatch,
                                                                    kind, host):
    monkeypatch.setenv("VMCONSOLE_TEST_PASSWORD", "secret")
    path = tmp_path / "config.toml"
    path.write_text(CLUSTER_AT.format(kind=kind, host=host))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert (err.value.line, err.value.key) == (6, "profiles.a.clusters[0].host")
    assert "expected a host name (RFC 1123) or an IP address" in str(err.value)


@pytest.mark.parametrize("kind", ["proxmox", "vcenter"])
@pytest.mark.parametrize("host", ["pve", "pve1.example.org", "pve1.example.org.",
                                  "192.0.2.10", "2001:db8::10", "::1", "xn--caf-dma.org",
                                  "1pve.example.org"])
def test_a_host_name_or_address_is_taken(tmp_path, monkeypatch, kind, host):
    monkeypatch.setenv("VMCONSOLE_TEST_PASSWORD", "secret")
    path = tmp_path / "config.toml"
    path.write_text(CLUSTER_AT.format(kind=kind, host=host))
    [cluster] = load_config(path).profiles["a"]
    assert cluster.host == host


TIMED_CLUSTER = """theme = "vmconsole-dark"

[[profiles.a.clusters]]
kind = "{kind}"
name = "c"
{where}
timeout = {timeout}
"""
WHERE = {"libvirt": 'uris = ["test:///default"]',
         "proxmox": 'host = "pve1"\nuser = "root@pam"\npassword_env = "VMCONSOLE_TEST_PASSWORD"',
         "vcenter": 'host = "vc1"\nuser = "root"\npassword_env = "VMCONSOLE_TEST_PASSWORD"'}


@pytest.mark.parametrize("kind", sorted(WHERE))
@pytest.mark.parametrize("timeout", ["-1", "0", "0.05", "301", "nan", "inf"])
def test_a_timeout_no_host_could_meet_or_too_long_is_refused_at_its_line(
        tmp_path, monkeypatch, kind, timeout):
    monkeypatch.setenv("VMCONSOLE_TEST_PASSWORD", "secret")
    path = tmp_path / "config.toml"
    text = TIMED_CLUSTER.format(kind=kind, where=WHERE[kind], timeout=timeout)
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    line = text.splitlines().index(f"timeout = {timeout}") + 1
    assert (err.value.line, err.value.key) == (line, "profiles.a.clusters[0].timeout")
    assert str(path) in str(err.value)
    assert f"expected 0.1 to 300 seconds, got {float(timeout):g}" in str(err.value)


@pytest.mark.parametrize("kind", sorted(WHERE))
@pytest.mark.parametrize("timeout", ["0.1", "2", "300"])
def test_a_timeout_in_range_is_taken(tmp_path, monkeypatch, kind, timeout):
    monkeypatch.setenv("VMCONSOLE_TEST_PASSWORD", "secret")
    path = tmp_path / "config.toml"
    path.write_text(TIMED_CLUSTER.format(kind=kind, where=WHERE[kind], timeout=timeout))
    [cluster] = load_config(path).profiles["a"]
    assert cluster.timeout == float(timeout)


def test_a_viewer_is_refused_the_serial_console_unless_the_config_says_read_only(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('theme = "vmconsole-dark"\n')
    assert load_config(path).serial_console_viewers == "refuse"
    path.write_text('serial_console_viewers = "read-only"\n')
    assert load_config(path).serial_console_viewers == "read-only"


def test_bulk_actions_run_four_guests_at_once_unless_the_config_says(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('theme = "vmconsole-dark"\n')
    assert load_config(path).bulk_concurrency == 4
    path.write_text("bulk_concurrency = 16\n")
    assert load_config(path).bulk_concurrency == 16


def test_a_profile_may_be_read_only(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('default_profile = "watch"\n'
                    '[profiles.watch]\nread_only = true\n'
                    '[[profiles.watch.clusters]]\nkind = "sim"\nname = "lab"\n'
                    '[[profiles.work.clusters]]\nkind = "sim"\nname = "lab"\n')
    config = load_config(path)
    assert config.read_only(None) and config.read_only("watch")
    assert not config.read_only("work")


def test_read_only_must_be_true_or_false(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[profiles.watch]\nread_only = "yes"\n'
                    '[[profiles.watch.clusters]]\nkind = "sim"\nname = "lab"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert (err.value.line, err.value.key) == (2, "profiles.watch.read_only")
    assert "expected bool" in str(err.value)


def test_the_console_and_the_server_take_read_only():
    from vmconsole.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["console", "--read-only"]).read_only
    assert parser.parse_args(["serve", "--read-only"]).read_only
    assert not parser.parse_args(["demo"]).read_only


TLS_CLUSTER = """theme = "vmconsole-dark"

[[profiles.a.clusters]]
kind = "{kind}"
name = "c"
host = "pve1"
user = "root@pam"
password_env = "VMCONSOLE_TEST_PASSWORD"
{key} = {value}
"""


@pytest.mark.parametrize("kind", ["proxmox", "vcenter"])
@pytest.mark.parametrize(("key", "value", "said"), [
    ("fingerprint", '"AB:CD:EF"', "expected a SHA-256 fingerprint: 64 hex digits"),
    ("fingerprint", '"' + "ab" * 20 + '"', "expected a SHA-256 fingerprint"),  # SHA-1
    ("port", "99999999", "expected a TCP port, 1 to 65535, got 99999999"),
    ("port", "-1", "expected a TCP port, 1 to 65535, got -1"),
    ("port", "0", "expected a TCP port, 1 to 65535, got 0"),
    ("ca_file", '"{tmp}/missing.pem"', "{tmp}/missing.pem: cannot read it: No such file"),
    ("ca_file", '"{tmp}"', "{tmp}: not a regular file"),
])
def test_tls_and_port_keys_every_poll_would_fail_on_are_refused_at_their_line(
        tmp_path, monkeypatch, kind, key, value, said):
    """A tester's finding: these were caught only by the polls, each failing as
    "unreachable" or "internal error while polling", forever."""
    monkeypatch.setenv("VMCONSOLE_TEST_PASSWORD", "secret")
    path = tmp_path / "config.toml"
    path.write_text(TLS_CLUSTER.format(kind=kind, key=key, value=value.format(tmp=tmp_path)))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert (err.value.line, err.value.key) == (9, f"profiles.a.clusters[0].{key}")
    assert said.format(tmp=tmp_path) in str(err.value)


@pytest.mark.parametrize("kind", ["proxmox", "vcenter"])
@pytest.mark.parametrize(("key", "value"), [
    ("fingerprint", '"' + ":".join(["AB"] * 32) + '"'),
    ("fingerprint", '"' + "0f" * 32 + '"'),
    ("port", "1"), ("port", "65535"),
])
def test_tls_and_port_keys_in_shape_are_taken(tmp_path, monkeypatch, kind, key, value):
    monkeypatch.setenv("VMCONSOLE_TEST_PASSWORD", "secret")
    path = tmp_path / "config.toml"
    path.write_text(TLS_CLUSTER.format(kind=kind, key=key, value=value))
    [cluster] = load_config(path).profiles["a"]
    assert str(getattr(cluster, key)) == value.strip('"')


def test_a_ca_file_under_home_is_found(tmp_path, monkeypatch):
    monkeypatch.setenv("VMCONSOLE_TEST_PASSWORD", "secret")
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "pve-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    path = tmp_path / "config.toml"
    path.write_text(TLS_CLUSTER.format(kind="proxmox", key="ca_file", value='"~/pve-ca.pem"'))
    [cluster] = load_config(path).profiles["a"]
    assert cluster.ca_file == str(tmp_path / "pve-ca.pem")


@pytest.mark.parametrize("kind", ["proxmox", "vcenter"])
def test_a_host_with_a_port_is_told_of_the_port_key(tmp_path, monkeypatch, kind):
    monkeypatch.setenv("VMCONSOLE_TEST_PASSWORD", "secret")
    path = tmp_path / "config.toml"
    path.write_text(CLUSTER_AT.format(kind=kind, host="127.0.0.1:8006"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert (err.value.line, err.value.key) == (6, "profiles.a.clusters[0].host")
    assert str(err.value).endswith(
        'such as "pve1.example.org", "192.0.2.10" or "2001:db8::10" (the port goes in its '
        "own key: port = 8006)")


@pytest.mark.parametrize("mode", [0o664, 0o646, 0o666], ids=oct)
def test_a_config_others_may_write_is_refused_with_its_mode_and_the_fix(tmp_path, monkeypatch,
                                                                       mode):
    """A tester's finding: a group- or world-writable config was read without a word,
    though it names the hosts logged in to and the fence commands `ha run` runs as
    root. sshd's StrictModes refuses such a file; so does the console."""
    path = tmp_path / "c.toml"
    path.write_text(GOOD)
    path.chmod(mode)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == (f"{path}: not read, as others could change it: file "
                              f"{path} is writable by others (mode {mode:o}): chmod go-w "
                              f"{path}")
    path.chmod(mode & ~0o022)  # what the error says to do
    monkeypatch.setenv("PVE_SECRET", "s3cret")
    assert load_config(path).default_profile == "both"


def test_a_config_in_a_folder_others_may_write_is_refused(tmp_path, monkeypatch):
    """Others could replace the file through its folder; one found by
    $VMCONSOLE_CONFIG is checked as one named by --config."""
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "c.toml").write_text(GOOD)
    folder.chmod(0o775)
    monkeypatch.setenv("VMCONSOLE_CONFIG", str(folder / "c.toml"))
    with pytest.raises(ConfigError, match=f"folder {folder} is writable by others "
                       f"\\(mode 775\\): chmod go-w {folder}$"):
        load_config()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away takes root")
def test_a_config_owned_by_another_user_is_refused(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(GOOD)
    os.chown(path, 4242, 4242)
    with pytest.raises(ConfigError, match="belongs to uid 4242, not to this user or root"):
        load_config(path)


def test_a_config_others_may_only_read_is_read(tmp_path, monkeypatch):
    """It holds no secret to keep: secrets come from a variable or a private file."""
    monkeypatch.setenv("PVE_SECRET", "s3cret")
    path = tmp_path / "c.toml"
    path.write_text(GOOD)
    path.chmod(0o644)
    assert load_config(path).default_profile == "both"
