"""What every lab test module needs before it builds a lab: root, the packages, and no
lab up already (its namespaces' names are fixed, so two labs would destroy each other)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmconsole.lab import checks


def skip_unless_a_lab_can_be_built() -> None:
    """Skip the calling module, saying why, when no lab can be built here now (in CI
    as root, tests/conftest.py turns such a skip into a failure)."""
    problems = checks.problems()
    if problems:
        pytest.skip("; ".join(problems), allow_module_level=True)
    if Path("/run/netns/vmclab-lan").exists():
        pytest.skip("a lab is already up on this machine (vmconsole lab down first)",
                    allow_module_level=True)
