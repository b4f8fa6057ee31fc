"""In CI as root a skipped test of a real part fails the run; elsewhere it only skips."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

_SUITE_CONFTEST = Path(__file__).parents[1] / "conftest.py"


def _run(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    shutil.copy(_SUITE_CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_part.py").write_text(
        "import pytest\ndef test_needs_qemu():\n    pytest.skip('missing qemu-img')\n")
    (tmp_path / "test_module.py").write_text(
        "import pytest\npytest.skip('no libvirtd', allow_module_level=True)\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tmp_path)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120, check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="the rule holds for root only")
def test_a_skip_in_ci_as_root_fails_the_run(tmp_path: Path) -> None:
    run = _run(tmp_path, ci=True)
    assert run.returncode == 1, run.stdout
    assert "missing qemu-img" in run.stdout
    assert "FAILED (skipped in CI as root) test_module.py: Skipped: no libvirtd" in run.stdout


def test_outside_ci_a_skip_is_a_skip(tmp_path: Path) -> None:
    run = _run(tmp_path, ci=False)
    assert run.returncode == 0, run.stdout
    assert "2 skipped" in run.stdout
