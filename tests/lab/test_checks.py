"""`vmconsole lab` on a machine that cannot run it says why and what to install."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from vmconsole.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_not_root_exits_2_and_says_so(monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["lab", "up"]) == 2
    assert "the lab needs root" in capsys.readouterr().err


def test_a_missing_package_is_named(monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name in (
        "libvirtd", "qemu-img") else real_which(name, *a, **k))
    assert main(["lab", "down"]) == 2
    err = capsys.readouterr().err
    assert "missing libvirtd, qemu-img: apt-get install libvirt-daemon-system qemu-utils" in err


def test_status_without_the_libvirt_binding_says_so_in_one_line(tmp_path):
    # A fresh interpreter in which `import libvirt` fails, as where it is not installed.
    without_libvirt = ("import sys; sys.modules['libvirt'] = None; "
                       "from vmconsole.cli import main; sys.exit(main(sys.argv[1:]))")
    result = subprocess.run(
        [sys.executable, "-c", without_libvirt, "lab", "status"], cwd=ROOT,
        env={**os.environ, "VMCONSOLE_LAB_DIR": str(tmp_path / "no-lab-here")},
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "vmconsole lab: needs libvirt: pip install 'vmconsole[libvirt]' (which builds "
        "with libvirt-dev, pkg-config and python3-dev)"]
    assert result.stdout == ""
