"""`vmconsole ha` on an install without libvirt-python, and with a profile it does not
know: one line that says what to do, never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys

# The console's own install (README's first command) has no libvirt-python: run the CLI
# in a child where importing it fails, as it does there.
WITHOUT_LIBVIRT = ("import sys; sys.modules['libvirt'] = None; "
                   "from vmconsole import cli; raise SystemExit(cli.main(sys.argv[1:]))")


def ha(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "c.toml"
    config.write_text('[[profiles.lab.clusters]]\nkind = "libvirt"\nname = "kvm"\n'
                      'uris = ["qemu+tcp://10.0.0.1/system"]\n[profiles.lab.clusters.ha]\n'
                      'fence = "command"\nfence_command = ["true"]\n')
    return subprocess.run([sys.executable, "-c", WITHOUT_LIBVIRT, "ha", "--config",
                           str(config), *args], capture_output=True, text=True, timeout=60)


def ha_config(tmp_path, status_file):
    """A config whose profile `lab` has one libvirt cluster (`test:///default`) with an
    HA manager writing its status to STATUS_FILE."""
    config = tmp_path / "c.toml"
    config.write_text('[[profiles.lab.clusters]]\nkind = "libvirt"\nname = "kvm"\n'
                      'uris = ["test:///default"]\n[profiles.lab.clusters.ha]\n'
                      'fence = "command"\nfence_command = ["true"]\n'
                      f'status_file = "{status_file}"\n')
    return config


def test_without_libvirt_python_ha_says_what_to_install(tmp_path):
    done = ha(tmp_path, "status", "--profile", "lab")
    assert done.returncode == 2
    assert done.stderr == ("vmconsole ha: needs libvirt: "
                           "pip install 'vmconsole[libvirt]'\n")


def test_an_unknown_profile_is_named_before_anything_is_imported(tmp_path):
    done = ha(tmp_path, "run", "--profile", "nope\x1b]0;x\x07")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "\x1b" not in done.stderr
    assert done.stderr.startswith("vmconsole ha: ") and "nope\\x1b]0;x\\x07" in done.stderr


def test_ha_status_takes_config_after_the_action_as_every_command_does(tmp_path, capsys):
    """`vmconsole ha status --profile lab --config F` (the tester's finding: only
    `ha --config F status` was taken)."""
    import pytest

    pytest.importorskip("libvirt")  # `ha status` reads its clusters through it
    from vmconsole import cli

    status_file = tmp_path / "where-this-config-says.json"
    config = ha_config(tmp_path, status_file)
    assert cli.main(["ha", "status", "--profile", "lab", "--config", str(config)]) == 0
    assert str(status_file) in capsys.readouterr().out


def test_a_status_file_nested_too_deeply_is_one_line_not_a_traceback(tmp_path, capsys):
    """A tester's finding: a status file of 100,000 `[` gave a RecursionError traceback;
    it is a status that cannot be read, as any other bad JSON is."""
    import pytest

    pytest.importorskip("libvirt")  # `ha status` reads its clusters through it
    from vmconsole import cli

    status_file = tmp_path / "status.json"
    status_file.write_text("[" * 100_000)
    config = ha_config(tmp_path, status_file)
    assert cli.main(["ha", "status", "--profile", "lab", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert out == (f"no HA manager status in {status_file}: is `vmconsole ha run` "
                   "running?\n")


def test_a_hosts_library_warning_reaches_the_terminal_made_visible(tmp_path):
    """libvirt's test driver reads a `test:///PATH` host with libxml2, which names the
    file it cannot load on stderr, escapes and all: raw, they retitled the terminal
    that runs the manager, and cleared it."""
    import os
    import signal

    import pytest

    pytest.importorskip("libvirt")  # the manager reads its hosts through it
    config = tmp_path / "c.toml"
    config.write_text('[[profiles.lab.clusters]]\nkind = "libvirt"\nname = "kvm"\n'
                      'timeout = 2\nuris = ["test:///default", "test:///nonexistent/'
                      '%1B%5D0;PWNED%07%1B%5B2J%1B%5B31mRED.xml"]\n'
                      '[profiles.lab.clusters.ha]\nfence = "command"\n'
                      f'fence_command = ["true"]\nstatus_file = "{tmp_path / "s.json"}"\n')
    manager = subprocess.Popen([sys.executable, "-m", "vmconsole", "ha", "run", "--profile",
                                "lab", "--config", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert manager.stderr is not None
        warning = next(line for line in manager.stderr if "I/O warning" in line)
        manager.send_signal(signal.SIGINT)
        rest = manager.stderr.read()
        assert manager.wait(timeout=30) == 0
    finally:
        manager.kill()
    # stamped with the date and time (its repeats are counted: test_terminal_lines)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d " + re.escape(
        'I/O warning : failed to load external entity '
        '"/nonexistent/\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31mRED.xml"\n'), warning)
    assert "\x1b" not in rest and "\x07" not in rest
