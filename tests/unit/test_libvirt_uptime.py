"""A libvirt domain's uptime from its process: the run directory of a URI, the pid
file the driver keeps, /proc's start time; nothing for a stale pid file or a remote
host."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vmconsole.backends.libvirt.uptime import (
    domain_uptime,
    process_start,
    run_dir,
    unreported_why,
)


@pytest.mark.parametrize(("uri", "expected"), [
    ("qemu:///system", Path("/run/libvirt")),
    ("lxc:///system", Path("/run/libvirt")),
    ("qemu+unix:///system", Path("/run/libvirt")),
    ("qemu:///system?socket=/var/lab/pve1/run/libvirt-sock", Path("/var/lab/pve1/run")),
    ("qemu+ssh://kvm1/system", None),  # remote: its /proc is not ours
    ("qemu+tcp://10.0.0.1/system", None),
    ("qemu:///session", None),
    ("test:///default", None),
])
def test_the_run_directory_of_a_uri(uri, expected):
    assert run_dir(uri) == expected


@pytest.mark.parametrize(("uri", "why"), [
    ("qemu+ssh://root@kvm1/system", "libvirt's API gives none; it is the age of the "
     "guest's process, and kvm1 is another machine, whose processes the console cannot see"),
    ("qemu+tcp://10.0.0.1:16509/system", "libvirt's API gives none; it is the age of the "
     "guest's process, and 10.0.0.1 is another machine, whose processes the console "
     "cannot see"),
    ("qemu:///session", "libvirt's API gives none, and the pid files of a session libvirtd "
     "are not read (only a system libvirtd's)"),
    ("test:///default", "libvirt's test driver runs no process per guest to read it from"),
])
def test_a_host_without_uptime_says_why(uri, why):
    assert run_dir(uri) is None
    assert unreported_why(uri) == why


def test_process_start_is_this_process_start():
    started = process_start(os.getpid())
    assert 0 <= time.time() - started < 3600  # this test run began less than an hour ago


@pytest.fixture
def qemu_like(tmp_path):
    """A process whose command line names a domain as QEMU's does (-name guest=NAME,...)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                             "-name", "guest=web,debug-threads=on"])
    (tmp_path / "qemu").mkdir()
    cmdline = Path(f"/proc/{proc.pid}/cmdline")
    deadline = time.monotonic() + 10
    while b"guest=web," not in cmdline.read_bytes():  # until the child has exec'd
        assert time.monotonic() < deadline, "the child never ran"
        time.sleep(0.01)
    yield tmp_path, proc.pid
    proc.kill()
    proc.wait()


def test_a_domain_uptime_is_its_process_age(qemu_like):
    run, pid = qemu_like
    (run / "qemu" / "web.pid").write_text(f"{pid}\n")
    first = domain_uptime(run, False, "web", time.time())
    assert first is not None and 0 <= first < 30
    time.sleep(0.3)  # the process ages meanwhile: the subject, nothing is awaited
    later = domain_uptime(run, False, "web", time.time())
    assert later is not None and later - first >= 0.25


def test_a_stale_or_missing_pid_file_gives_none(qemu_like):
    run, pid = qemu_like
    assert domain_uptime(run, False, "web", time.time()) is None  # no pid file
    (run / "qemu" / "db.pid").write_text(f"{pid}\n")  # a pid that is another domain's
    assert domain_uptime(run, False, "db", time.time()) is None
    (run / "qemu" / "web.pid").write_text("not a pid\n")
    assert domain_uptime(run, False, "web", time.time()) is None
