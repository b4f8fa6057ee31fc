"""`vmconsole lab` on a machine that cannot run it says why and what to install."""

import os
import shutil

from vmconsole.cli import main


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
