"""Every command that prints, read by a reader that leaves (`vmconsole ha status | head`):
it ends quietly with a shell's SIGPIPE status (141), never a BrokenPipeError traceback
nor an "Exception ignored" line at exit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vmconsole.audit import AuditLog, AuditRecord

ROOT = Path(__file__).resolve().parents[2]


def into_closed_pipe(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run `vmconsole ARGS` with its stdout a pipe nobody reads: (exit status, stderr)."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has left before the first line
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    try:
        done = subprocess.run([sys.executable, "-m", "vmconsole", *args], cwd=ROOT,
                              stdout=write_end, stderr=subprocess.PIPE, text=True,
                              timeout=60, env=env)
    finally:
        os.close(write_end)
    return done.returncode, done.stderr


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def audit_log(tmp_path: Path) -> Path:
    log = AuditLog(tmp_path / "audit.jsonl")
    for n in range(50):
        log.append(AuditRecord(user="ann", role="admin", source="local", cluster="c",
                               target=f"vm{n}", operation="start", result="ok"))
    return log.path


def ha_config(tmp_path: Path) -> Path:
    config = tmp_path / "c.toml"
    config.write_text('[[profiles.lab.clusters]]\nkind = "libvirt"\nname = "kvm"\n'
                      'uris = ["test:///default"]\n[profiles.lab.clusters.ha]\n'
                      'fence = "command"\nfence_command = ["true"]\n'
                      f'status_file = "{tmp_path / "ha.json"}"\n')
    return config


@pytest.mark.parametrize("command", ["audit", "audit-follow", "ha-status", "demo-list",
                                     "ping", "lab-status"])
def test_a_reader_that_leaves_ends_the_command_quietly(tmp_path, command):
    pytest.importorskip("libvirt")  # `ha status` reads its clusters through it
    args = {
        "audit": ("audit", "--log", str(audit_log(tmp_path))),
        "audit-follow": ("audit", "--follow", "--log", str(audit_log(tmp_path))),
        "ha-status": ("ha", "--config", str(ha_config(tmp_path)), "status",
                      "--profile", "lab"),
        "demo-list": ("demo", "--list-scenarios"),
        "ping": ("ping", "127.0.0.1", "--tcp", str(closed_port()), "-c", "5"),
        "lab-status": ("lab", "--config", str(tmp_path / "c.toml"), "status"),
    }[command]
    status, stderr = into_closed_pipe(tmp_path, *args)
    assert (status, stderr) == (141, "")


def test_an_ha_manager_whose_reader_left_goes_on(tmp_path):
    """`ha run | head`: the manager keeps its rounds (its decisions are in the audit log
    and the status file), and SIGTERM still ends it cleanly."""
    pytest.importorskip("libvirt")
    config = ha_config(tmp_path)
    config.write_text(config.read_text() + "round = 0.5\n")
    status = tmp_path / "ha.json"
    read_end, write_end = os.pipe()
    os.close(read_end)
    manager = subprocess.Popen(
        [sys.executable, "-m", "vmconsole", "ha", "--config", str(config), "run",
         "--profile", "lab"], cwd=ROOT, stdout=write_end, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")})
    os.close(write_end)
    try:
        deadline = time.monotonic() + 60
        while not status.exists():
            assert time.monotonic() < deadline and manager.poll() is None, manager.stderr
            time.sleep(0.1)
        first = status.stat().st_mtime_ns
        while status.stat().st_mtime_ns == first:  # a later round, after lines were lost
            assert time.monotonic() < deadline and manager.poll() is None
            time.sleep(0.1)
    finally:
        manager.send_signal(signal.SIGTERM)
        try:
            assert manager.wait(60) == 0
        finally:
            manager.kill()
    assert manager.stderr is not None and manager.stderr.read() == ""


def test_send_to_devnull_quiets_the_stream_it_is_given_not_only_stdout():
    """serve's messages go to stderr: the function that points a closed pipe at
    /dev/null takes any stream (it was named drop_stdout, and took stderr too)."""
    from vmconsole.stdout import send_to_devnull

    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "w") as stream:
        with pytest.raises(BrokenPipeError):
            stream.write("lost\n")
            stream.flush()
        send_to_devnull(stream)
        stream.write("dropped\n")
        stream.flush()  # no BrokenPipeError: the descriptor is /dev/null's now
        assert os.path.samestat(os.fstat(stream.fileno()), os.stat(os.devnull))
