from __future__ import annotations

from collections.abc import Callable

import pytest

from vmconsole.config import SimCluster
from vmconsole.ui.frozen import FrozenConsole


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path, monkeypatch):
    """Keep the developer's own config, themes and audit log out of the tests."""
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv("VMCONSOLE_CONFIG", raising=False)


@pytest.fixture
def console_factory() -> Callable[..., FrozenConsole]:
    def make(nodes: int = 3, guests: int = 0, seed: int = 1, **app_kwargs: object
             ) -> FrozenConsole:
        return FrozenConsole(SimCluster(nodes=nodes, guests=guests, seed=seed), **app_kwargs)

    return make
