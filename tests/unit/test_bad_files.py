"""Bad files get one line naming the file and what is wrong, never a traceback: the
config (not UTF-8, a directory), a secret file others may read, a theme (the console
starts without it). The CLI runs as a user runs it, in a subprocess."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pty_console import run_in_terminal
from tests.serve.terminal import toast_text
from vmconsole.config import ConfigError, load_config
from vmconsole.paths import create_private

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env() -> dict[str, str]:
    """The environment of the suite's isolation fixture (tests/conftest.py): the user's
    directories in tmp_path, so no real config or theme is read."""
    return dict(os.environ)


def vmconsole(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vmconsole", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert result.stdout == ""
    return line


def test_a_config_that_is_not_utf8(env, tmp_path):
    config = tmp_path / "config.toml"
    config.write_bytes(b'theme = "vmconsole-dark"\n# caf\xe9 in Latin-1\n')
    line = one_line(vmconsole(env, "--config", str(config)))
    assert line == f"vmconsole: {config}, line 2: not UTF-8 text (byte 0xe9 on line 2)"


def test_a_config_that_is_a_directory(env, tmp_path):
    config = tmp_path / "config.toml"
    config.mkdir()
    env["VMCONSOLE_CONFIG"] = str(config)
    line = one_line(vmconsole(env))
    assert line == f"vmconsole: {config}: is a directory, not a file"


@pytest.mark.parametrize(("make", "said"), [
    (os.mkfifo, "is a FIFO, not a regular file"),
    (lambda path: path.symlink_to("/dev/zero"), "is a character device, not a regular file"),
    (lambda path: path.write_text("# " + "x" * 1024 * 1024 + "\n"),
     "is larger than 1 MiB: not a file of this kind"),
])
def test_a_config_that_is_no_regular_file_or_too_big_is_refused_in_one_line(
        env, tmp_path, make, said):
    """A tester's finding: a FIFO as --config hung for ever with no word, /dev/zero
    ended in MemoryError."""
    config = tmp_path / "config.toml"
    make(config)
    line = one_line(vmconsole(env, "--config", str(config)))
    assert line == f"vmconsole: {config}: {said}"


@pytest.mark.parametrize(("command", "prefix"), [
    ([], "vmconsole"), (["demo"], "vmconsole"), (["serve"], "vmconsole"),
    (["ha", "status", "--profile", "p"], "vmconsole ha"),
])
def test_a_config_others_may_write_is_refused_in_one_line(env, tmp_path, command, prefix):
    config = tmp_path / "config.toml"
    config.write_text('theme = "vmconsole-dark"\n')
    config.chmod(0o666)
    line = one_line(vmconsole(env, "--config", str(config), *command))
    assert line == (f"{prefix}: {config}: not read, as others could change it: file "
                    f"{config} is writable by others (mode 666): chmod go-w {config}")


@pytest.mark.parametrize(("name", "text", "args", "said"), [
    ("nl\nfile.toml", "theme = \n", [], "not valid TOML"),
    ("config.toml", '[[profiles.p.clusters]]\nkind = "sim"\nname = "lab\\nX"\n'
     '[[profiles.p.clusters]]\nkind = "sim"\nname = "lab\\nX"\n', [],
     "a second cluster named 'lab\\nX'"),
    ("config.toml", '[[profiles."a\\nb".clusters]]\nkind = "sim"\nname = "s"\n',
     ["--profile", "x"], "no profile 'x' (profiles: a\\nb)"),
    ("config.toml", '"x\\ny" = 1\n', [], "key 'x\\ny': unknown key"),
])
def test_a_newline_in_a_config_error_is_escaped_as_other_controls_are(
        env, tmp_path, name, text, args, said):
    """A tester's finding: a newline in the file's name or in a name the file gives
    was printed raw, the error's second half on a line of its own."""
    config = tmp_path / name
    config.write_text(text)
    line = one_line(vmconsole(env, "--config", str(config), *args))
    shown = str(config).replace("\n", "\\n")
    assert line.startswith(f"vmconsole: {shown}"), line
    assert said in line


def test_a_config_others_may_write_with_a_newline_in_its_name_is_one_line(env, tmp_path):
    config = tmp_path / "nl\nfile.toml"
    config.write_text('theme = "vmconsole-dark"\n')
    config.chmod(0o666)
    line = one_line(vmconsole(env, "--config", str(config)))
    assert line.endswith("chmod go-w '" + str(config).replace("\n", "\\n") + "'"), line


def test_a_config_linked_to_in_a_folder_others_may_write_is_refused_naming_both(tmp_path):
    """A tester's finding: the folders above the link were checked, not those above
    the file it leads to (sshd resolves the real path first)."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    (shared / "config.toml").write_text('theme = "vmconsole-dark"\n')
    link = tmp_path / "config.toml"
    link.symlink_to(shared / "config.toml")
    with pytest.raises(ConfigError) as caught:
        load_config(link)
    assert str(caught.value) == (
        f"{link}: not read, as others could change it: folder {shared} is writable by "
        f"others (mode 777; {link} links to {shared / 'config.toml'}): chmod go-w {shared}")


def test_a_config_that_is_a_symbolic_link_loop_is_said_to_be_one(tmp_path):
    """A tester's finding: it was "file not found"."""
    config = tmp_path / "config.toml"
    config.symlink_to(tmp_path / "other.toml")
    (tmp_path / "other.toml").symlink_to(config)
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert str(caught.value) == f"{config}: is a symbolic link loop (ELOOP), not a file"


PROXMOX = """
[[profiles.pve.clusters]]
kind = "proxmox"
name = "pve"
host = "127.0.0.1"
user = "root@pam"
token_name = "vmconsole"
token_secret_file = "{secret}"
"""


def test_a_secret_file_others_may_read_is_refused_with_the_fix(env, tmp_path):
    secret = tmp_path / "pve token"
    secret.write_text("0f3e-secret\n")
    secret.chmod(0o644)
    config = tmp_path / "config.toml"
    config.write_text(PROXMOX.format(secret=secret))
    line = one_line(vmconsole(env, "--config", str(config), "--profile", "pve"))
    assert line == (
        f"vmconsole: {config}, line 8, key 'profiles.pve.clusters[0].token_secret_file': "
        f"{secret} is open to others (mode 644): chmod 600 '{secret}'")
    assert "0f3e-secret" not in line
    secret.chmod(0o600)  # what the line says to do
    [cluster] = load_config(config).clusters("pve")
    assert cluster.token_secret == "0f3e-secret"


SECRET_KEYS = {
    "proxmox": 'host = "127.0.0.1"\nuser = "root@pam"\ntoken_name = "vmconsole"\n',
    "vcenter": 'host = "127.0.0.1"\nuser = "administrator@vsphere.local"\n',
}


@pytest.mark.parametrize(("kind", "key", "source", "value", "said"), [
    ("proxmox", "token_secret", "file", "SECRET-1234\nEXTRA\n", "'\\n' at character 12 of 17"),
    ("proxmox", "token_secret", "env", "SECRET-1234\r",
     "'\\r' at character 12 of 12 (a Windows line end?)"),
    ("proxmox", "password", "file", "SECRET-1234\x00", "'\\x00' at character 12 of 12"),
    ("vcenter", "password", "env", "SECRET-1234\x1b[2J", "'\\x1b' at character 12 of 15"),
    ("vcenter", "password", "file", "SECRET-1234\r\nEXTRA",
     "'\\r' at character 12 of 18 (a Windows line end?)"),
])
def test_a_secret_that_is_not_one_printable_line_is_refused_without_showing_it(
        env, tmp_path, kind, key, source, value, said):
    """A tester's finding: a token secret with a line break went into the HTTP header,
    and http.client's refusal, secret included, into console.log at every poll."""
    config = tmp_path / "config.toml"
    if source == "file":
        secret = tmp_path / "secret"
        secret.write_text(value, newline="")
        secret.chmod(0o600)
        where = f'{key}_file = "{secret}"'
        source_said = str(secret)
    else:
        env["VMCONSOLE_TEST_KEY"] = value
        where = f'{key}_env = "VMCONSOLE_TEST_KEY"'
        source_said = "$VMCONSOLE_TEST_KEY"
    config.write_text(f'[[profiles.p.clusters]]\nkind = "{kind}"\nname = "c"\n'
                      f"{SECRET_KEYS[kind]}{where}\n")
    line = one_line(vmconsole(env, "--config", str(config), "--profile", "p"))
    number = len(config.read_text().splitlines())
    assert line == (f"vmconsole: {config}, line {number}, key 'profiles.p.clusters[0]."
                    f"{key}_{source}': the secret in {source_said} holds {said}: a secret "
                    "is one line of printable characters")
    assert "SECRET-1234" not in line and "EXTRA" not in line


def test_a_secret_file_s_last_line_end_is_dropped(tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"SECRET-1234\r\n")  # written on Windows
    secret.chmod(0o600)
    config = tmp_path / "config.toml"
    config.write_text(PROXMOX.format(secret=secret))
    [cluster] = load_config(config).clusters("pve")
    assert cluster.token_secret == "SECRET-1234"


def test_a_secret_file_that_links_to_one_others_may_read_names_it_and_no_chmod(
        env, tmp_path):
    """A tester's finding: a password_file linked to /etc/shadow was refused with
    `chmod 600 .../shadowlink`, which chmods /etc/shadow."""
    target = tmp_path / "shadow"
    target.write_text("0f3e-secret\n")
    target.chmod(0o640)
    link = tmp_path / "shadowlink"
    link.symlink_to(target)
    config = tmp_path / "config.toml"
    config.write_text(PROXMOX.format(secret=link))
    line = one_line(vmconsole(env, "--config", str(config), "--profile", "pve"))
    assert line == (
        f"vmconsole: {config}, line 8, key 'profiles.pve.clusters[0].token_secret_file': "
        f"{link} links to {target}, which is open to others (mode 640): name a secret "
        "file that is yours alone, not a link to one that is not")
    assert "chmod" not in line


def test_a_secret_file_that_is_a_fifo_is_refused_in_one_line(env, tmp_path):
    """A tester's finding: it hung for ever with no word."""
    secret = tmp_path / "token"
    os.mkfifo(secret, 0o600)
    config = tmp_path / "config.toml"
    config.write_text(PROXMOX.format(secret=secret))
    line = one_line(vmconsole(env, "--config", str(config), "--profile", "pve"))
    assert line.endswith(f"token_secret_file': {secret}: is a FIFO, not a regular file")


def test_a_secret_file_that_is_not_utf8(env, tmp_path):
    secret = tmp_path / "token"
    secret.write_bytes(b"\xff\xfe")
    secret.chmod(0o600)
    config = tmp_path / "config.toml"
    config.write_text(PROXMOX.format(secret=secret))
    line = one_line(vmconsole(env, "--config", str(config), "--profile", "pve"))
    assert line.endswith(f"token_secret_file': {secret}: not UTF-8 text "
                         "(byte 0xff on line 1)")


def test_a_theme_that_is_not_utf8_is_skipped_and_the_console_starts(env, tmp_path):
    themes = tmp_path / "xdg_data_home" / "vmconsole" / "themes"
    themes.mkdir(parents=True)
    (themes / "bad.toml").write_bytes(b'name = "caf\xe9"\nprimary = "#ff0000"\n')
    shown, written, code = run_in_terminal(
        env, until=lambda display: "on line 1)" in toast_text(display))
    assert "Traceback" not in written
    assert "bad.toml: not UTF-8 text (byte 0xe9 on line 1)" in toast_text(shown)
    assert "pve1" in "\n".join(shown)  # the demo's tree: the console runs
    assert code == 0


@pytest.mark.parametrize("value", ["\\u001b]0;OWNED\\u0007", "\\u001b[2J", "[bold]T",
                                   "ctrl+ p", "?", "", "a,,b", "x" * 40])
def test_a_key_that_is_not_a_key_name_is_refused_in_one_line(env, tmp_path, value):
    config = tmp_path / "config.toml"
    config.write_text(f'theme = "vmconsole-dark"\n\n[keys]\n"app.tasks" = "{value}"\n')
    line = one_line(vmconsole(env, "--config", str(config)))
    assert line.startswith(f"vmconsole: {config}, line 4, key 'keys.\"app.tasks\"': "
                           "expected Textual key names"), line
    assert "\x1b" not in line and "\x07" not in line


@pytest.mark.parametrize("command", [[], ["demo"], ["serve"]])
def test_a_key_textual_never_reports_stops_the_console_in_one_line(env, tmp_path, command):
    """A tester's finding: `F3` (Textual's is `f3`) was taken, and Tasks had no key."""
    config = tmp_path / "config.toml"
    config.write_text('theme = "vmconsole-dark"\n\n[keys]\n"app.tasks" = "j,F3"\n')
    line = one_line(vmconsole(env, "--config", str(config), *command))
    assert line.startswith(f"vmconsole: {config}, line 4, key 'keys.\"app.tasks\"': F3: "
                           "'F3' is no key Textual reports"), line


def test_a_cluster_host_with_escapes_is_refused_in_one_line(env, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[[profiles.pve.clusters]]\nkind = "proxmox"\nname = "pve"\n'
                      'host = "127.0.0.1\\u001b[2J[red]h"\nuser = "root@pam"\n'
                      'password_env = "HOME"\n')
    line = one_line(vmconsole(env, "--config", str(config), "--profile", "pve"))
    assert line == (f"vmconsole: {config}, line 4, key 'profiles.pve.clusters[0].host': "
                    "expected a host name (RFC 1123) or an IP address, such as "
                    '"pve1.example.org", "192.0.2.10" or "2001:db8::10"')


def test_a_config_nested_too_deeply_is_refused_in_one_line(env, tmp_path):
    """A tester's finding: a 2,000-deep array gave tomllib's RecursionError, a traceback
    and exit 1."""
    config = tmp_path / "config.toml"
    config.write_text('theme = "vmconsole-dark"\ndeep = ' + "[" * 2000 + "]" * 2000 + "\n")
    line = one_line(vmconsole(env, "--config", str(config)))
    assert line == (f"vmconsole: {config}: not valid TOML: arrays or inline tables "
                    "nested too deeply")


SIM = '[[profiles.lab.clusters]]\nkind = "sim"\nname = "lab"\n{keys}\n'


@pytest.mark.parametrize(("keys", "said"), [
    # A tester's finding: "simulated cluster refused: ... time_scale must be between 0
    # (paused) and 0 ...", without file, line or key, and a speed that was never given
    ("nodes = 9223372036854775807\nguests = -1",
     "line 4, key 'profiles.lab.clusters[0].nodes': must be between 1 and 1000, got "
     "9223372036854775807"),
    ("guests = -1", "line 4, key 'profiles.lab.clusters[0].guests': must be between 0 and "
     "100000, got -1"),
    ("nodes = 1000\ntime_scale = 61", "line 5, key 'profiles.lab.clusters[0].time_scale': "
     "must be between 0 (paused) and 60 for 1000 nodes, got 61.0"),
])
def test_a_simulated_cluster_out_of_range_is_refused_with_its_line_and_key(env, tmp_path,
                                                                            keys, said):
    config = tmp_path / "config.toml"
    config.write_text(SIM.format(keys=keys))
    line = one_line(vmconsole(env, "--config", str(config), "--profile", "lab"))
    assert line == f"vmconsole: {config}, {said}"


def unwrapped(text: str) -> str:
    """`text` without its spaces: a toast wraps a long path anywhere."""
    return "".join(text.split())


def test_a_config_folder_that_is_a_file_is_said_and_the_demo_starts(env, tmp_path):
    """A tester's finding: with $XDG_CONFIG_HOME/vmconsole a file, the demo opened
    without a word: the user's config.toml was never looked for."""
    folder = tmp_path / "xdg_config_home" / "vmconsole"
    folder.parent.mkdir(parents=True)
    folder.write_text("")
    shown, _, code = run_in_terminal(
        env, lambda display: "thisisthedemo" in unwrapped(toast_text(display)))
    assert unwrapped(f"{folder} is a file, not a folder: no config is read from "
                     f"{folder / 'config.toml'}, so this is the demo") in unwrapped(
        toast_text(shown))
    assert "pve1" in "\n".join(shown)  # the demo's tree: the console runs
    assert code == 0


def test_theme_files_that_are_no_regular_files_are_skipped_and_the_console_starts(
        env, tmp_path):
    """A tester's finding: a FIFO among the themes hung the console before its first
    screen (VMConsoleApp.__init__ reads them), a link to /dev/zero ended in MemoryError."""
    themes = tmp_path / "xdg_data_home" / "vmconsole" / "themes"
    themes.mkdir(parents=True)
    os.mkfifo(themes / "fifo.toml")
    (themes / "zero.toml").symlink_to("/dev/zero")
    shown, written, code = run_in_terminal(
        env, lambda display: unwrapped("zero.toml: is a character device") in unwrapped(
            toast_text(display)))
    assert "Traceback" not in written
    toasts = unwrapped(toast_text(shown))
    assert unwrapped(f"{themes / 'fifo.toml'}: is a FIFO, not a regular file") in toasts
    assert unwrapped(f"{themes / 'zero.toml'}: is a character device, not a regular "
                     "file") in toasts
    assert "pve1" in "\n".join(shown)  # the demo's tree: the console runs
    assert code == 0


ISO_THEME = ('name = "iso"\nprimary = "#3b82c4"\nbackground = "#141a22"\n'
             'foreground = "#d8dee9"\nvariables = {{ "footer-key-foreground" = "{value}" }}\n')


def test_a_theme_textual_would_fail_on_is_skipped_and_the_console_starts_in_it_s_stead(
        env, tmp_path):
    """A tester's finding: with this theme chosen (`--theme iso` or `theme = "iso"`) the
    console exited 1 at start with "CSS parsing failed"."""
    themes = tmp_path / "xdg_data_home" / "vmconsole" / "themes"
    themes.mkdir(parents=True)
    (themes / "iso.toml").write_text(ISO_THEME.format(value="notacolour"))
    shown, written, code = run_in_terminal(
        env, lambda display: "using vmconsole-dark" in toast_text(display), "--theme", "iso")
    assert "Traceback" not in written and "CSS parsing failed" not in written
    toasts = unwrapped(toast_text(shown))
    assert unwrapped(f"{themes / 'iso.toml'}: variables: 'footer-key-foreground' is not a "
                     "colour Textual takes: 'notacolour'") in toasts
    assert unwrapped("no theme 'iso': using vmconsole-dark") in toasts
    assert "pve1" in "\n".join(shown)  # the demo's tree: the console runs
    assert code == 0


def test_many_theme_files_skipped_are_one_toast_and_each_a_line_of_the_log(env, tmp_path):
    """A tester's finding: 14 bad theme files were 14 toasts, 3 of them on screen and
    gone in seconds, and none in console.log."""
    themes = tmp_path / "xdg_data_home" / "vmconsole" / "themes"
    themes.mkdir(parents=True)
    for n in range(14):
        (themes / f"bad{n:02}.toml").write_text(ISO_THEME.format(value=f"notacolour{n}"))
    log = tmp_path / "xdg_state_home" / "vmconsole" / "console.log"
    shown, _, code = run_in_terminal(
        env, lambda display: "console.log" in unwrapped(toast_text(display)))
    assert unwrapped(f"14 theme files skipped: see {log}") in unwrapped(toast_text(shown))
    assert "notacolour" not in toast_text(shown)  # one toast, not one a file
    assert code == 0
    skipped = [line for line in log.read_text().splitlines() if "theme file skipped" in line]
    assert [line.split("theme file skipped: ")[1] for line in skipped] == [
        f"{themes / f'bad{n:02}.toml'}: variables: 'footer-key-foreground' is not a colour "
        f"Textual takes: 'notacolour{n}'" for n in range(14)]


def test_the_console_s_log_is_its_owner_s_alone(env, tmp_path):
    """A tester's finding: console.log was made 0644, readable by every user of the
    machine, and what backends say goes into it."""
    log = tmp_path / "xdg_state_home" / "vmconsole" / "console.log"
    log.parent.mkdir(parents=True)
    log.write_text("an older version's line\n")
    log.chmod(0o644)  # as an older version left it
    _, _, code = run_in_terminal(env, lambda display: "pve1" in "\n".join(display))
    assert code == 0
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert log.read_text().startswith("an older version's line\n")


def test_a_private_file_is_made_for_its_owner_alone_whatever_the_umask(tmp_path):
    umask = os.umask(0)
    try:
        create_private(tmp_path / "state" / "console.log")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "state" / "console.log").stat().st_mode) == 0o600
